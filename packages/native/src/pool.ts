/**
 * Kernel outputs recycled by the native backend when tfjs disposes them, instead of left for
 * V8's garbage collector. A disposed tensor's ArrayBuffer is only freed when V8 collects it, and
 * V8 starts a full (concurrent) marking for every ~64 MiB of new ArrayBuffer memory: at BERT
 * sizes a training step allocates GiBs, so tens of collections ran per step, their marking thread
 * competing with the two compute threads. A buffer returns here only when nothing else can see
 * it: it was registered as one tensor's values exactly once (no view of it, as the cpu Slice
 * kernel makes, and no second tensor) and never read out (`dataSync`/`data` hand out the
 * backend's own array); any of those marks it escaped, and it is left to the GC as before.
 */
import { Buffer } from 'node:buffer';

/** Below this, allocation is cheap and the GC pressure negligible: not worth tracking. */
const MIN_POOLED_BYTES = 1 << 16;

type State = 'pending' | 'live' | 'escaped';

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly state = new WeakMap<Float32Array, State>();
  /** Each pooled array by its ArrayBuffer, to recognise views of it. */
  private readonly owner = new WeakMap<ArrayBufferLike, Float32Array>();
  private freeBytes = 0;

  /** @param limitBytes Most bytes kept free for reuse; beyond it a disposed buffer goes to the GC. */
  constructor(private readonly limitBytes: number) {}

  /** A float32 array of `length` elements, not zeroed (a recycled one or fresh memory). */
  take(length: number): Float32Array {
    const bytes = length * Float32Array.BYTES_PER_ELEMENT;
    const reused = this.free.get(length)?.pop();
    if (reused) {
      this.freeBytes -= bytes;
      this.state.set(reused, 'pending');
      return reused;
    }
    const fresh = new Float32Array(Buffer.allocUnsafeSlow(bytes).buffer, 0, length);
    if (bytes >= MIN_POOLED_BYTES) {
      this.state.set(fresh, 'pending');
      this.owner.set(fresh.buffer, fresh);
    }
    return fresh;
  }

  /** `values` became a tensor's data: the first registration of a pooled array is its one owner. */
  registered(values: unknown): void {
    const pooled = this.pooledOf(values);
    if (!pooled) return;
    this.state.set(pooled, values === pooled && this.state.get(pooled) === 'pending' ? 'live' : 'escaped');
  }

  /** `values` left the backend (a read): it may be held after the tensor is gone. */
  escaped(values: unknown): void {
    const pooled = this.pooledOf(values);
    if (pooled) this.state.set(pooled, 'escaped');
  }

  /** The tensor holding `values` is gone: keep a live pooled array for reuse. */
  released(values: unknown): void {
    const pooled = this.pooledOf(values);
    if (!pooled || values !== pooled || this.state.get(pooled) !== 'live') return;
    if (this.freeBytes + pooled.byteLength > this.limitBytes) {
      this.state.set(pooled, 'escaped');
      return;
    }
    this.state.set(pooled, 'pending');
    this.freeBytes += pooled.byteLength;
    const list = this.free.get(pooled.length);
    if (list) list.push(pooled);
    else this.free.set(pooled.length, [pooled]);
  }

  /** Drop every free buffer (the backend is going away). */
  clear(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  private pooledOf(values: unknown): Float32Array | undefined {
    if (!ArrayBuffer.isView(values)) return undefined;
    const pooled = this.owner.get(values.buffer);
    return pooled && this.state.get(pooled) !== 'escaped' ? pooled : undefined;
  }
}
