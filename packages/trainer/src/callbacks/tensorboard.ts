/**
 * `reportTo: ['tensorboard']` (HF's TensorBoardCallback): every logged number as a TensorBoard
 * scalar, in an event file under `loggingDir`, so `tensorboard --logdir <loggingDir>` shows the run
 * the way it shows an HF one (names rewritten as HF does: `eval_loss` → `eval/loss`, `loss` →
 * `train/loss`). The file is TFRecord framing around `tensorflow.Event` protos: per record, the
 * little-endian uint64 length, its masked CRC-32C, the bytes, their masked CRC-32C.
 */
import { crc32c } from '@aws-crypto/crc32c';
import protobuf from 'protobufjs';
import { defaultFileStore, joinPath, platform, type FileStore } from '@distillery/storage';
import type { CallbackHook, TrainerCallback } from './handler.js';
import { logWriteFailed } from './jsonl-logger.js';

/** The fields of tensorflow/core/util/event.proto and framework/summary.proto that scalars use. */
const EVENT = protobuf.Root.fromJSON({
  nested: {
    Event: {
      oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
      fields: { wallTime: { type: 'double', id: 1 }, step: { type: 'int64', id: 2 }, fileVersion: { type: 'string', id: 3 }, summary: { type: 'Summary', id: 5 } },
    },
    Summary: {
      fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
      nested: { Value: { fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } } } },
    },
  },
}).lookupType('Event');

/** TFRecord's checksum: CRC-32C rotated right by 15 bits plus a constant (so CRCs of CRCs stay useful). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

/** HF's rewrite_logs: `eval_x` → `eval/x`, `test_x` → `test/x`, anything else → `train/x`. */
export function tensorBoardTag(key: string): string {
  for (const prefix of ['eval', 'test']) if (key.startsWith(`${prefix}_`)) return `${prefix}/${key.slice(prefix.length + 1)}`;
  return `train/${key}`;
}

export class TensorBoardCallback implements TrainerCallback {
  readonly name = 'TensorBoardCallback';
  private file: string | undefined;

  constructor(private readonly store: FileStore = defaultFileStore()) {}

  /** The event file is created before the first step: a loggingDir that cannot hold it costs no training. */
  onTrainBegin: CallbackHook = async (args) => {
    await this.open(args.loggingDir);
  };

  onLog: CallbackHook = async (args, state, _control, ctx) => {
    const values = Object.entries(ctx.logs ?? {})
      .filter(([key, v]) => key !== 'step' && Number.isFinite(v))
      .map(([key, v]) => ({ tag: tensorBoardTag(key), simpleValue: v }));
    if (values.length === 0) return;
    const file = await this.open(args.loggingDir);
    await this.append(file, this.encode({ step: state.globalStep, summary: { value: values } }));
  };

  /** The event file of this writer (one per run, as TensorFlow's writers name them). */
  get path(): string | undefined {
    return this.file;
  }

  /**
   * A new event file in `dir`: TensorBoard reads every events file of a folder as one run, so an
   * earlier run's files stay as they are. The trailing counter skips names already taken (another
   * writer of this process in the same second), as TensorFlow's writers do.
   */
  private async open(dir: string): Promise<string> {
    if (this.file !== undefined) return this.file;
    const { hostName, processId } = platform();
    const base = joinPath(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostName}.${processId}`);
    let file = `${base}.0`;
    try {
      await this.store.mkdir(dir);
      for (let n = 1; (await this.store.stat(file)) !== undefined; n++) file = `${base}.${n}`;
    } catch (cause) {
      throw logWriteFailed('TensorBoard event file', this.store.absolute(file), cause);
    }
    await this.append(file, this.encode({ fileVersion: 'brain.Event:2' }));
    this.file = file;
    return file;
  }

  private async append(file: string, record: Buffer): Promise<void> {
    try {
      await this.store.appendFile(file, record);
    } catch (cause) {
      throw logWriteFailed('TensorBoard event file', this.store.absolute(file), cause);
    }
  }

  private encode(event: Record<string, unknown>): Buffer {
    return tfRecord(EVENT.encode(EVENT.fromObject({ wallTime: Date.now() / 1000, ...event })).finish());
  }
}
