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
import { DistilleryTrainerError } from '../errors.js';
import type { CallbackHook, TrainerCallback } from './handler.js';

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

  onLog: CallbackHook = async (args, state, _control, ctx) => {
    const values = Object.entries(ctx.logs ?? {})
      .filter(([key, v]) => key !== 'step' && Number.isFinite(v))
      .map(([key, v]) => ({ tag: tensorBoardTag(key), simpleValue: v }));
    if (values.length === 0) return;
    await this.write(args.loggingDir, { step: state.globalStep, summary: { value: values } });
  };

  /** The event file of this writer (one per process, as TensorFlow's writers name them). */
  get path(): string | undefined {
    return this.file;
  }

  private async write(dir: string, event: Record<string, unknown>): Promise<void> {
    const records: Buffer[] = [];
    if (this.file === undefined) {
      const { hostName, processId } = platform();
      this.file = joinPath(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostName}.${processId}.0`);
      records.push(this.encode({ fileVersion: 'brain.Event:2' }));
    }
    records.push(this.encode(event));
    try {
      await this.store.mkdir(dir);
      await this.store.appendFile(this.file, Buffer.concat(records));
    } catch (cause) {
      throw new DistilleryTrainerError('WRITE_FAILED', `could not write the TensorBoard event file ${this.file}: ${(cause as Error).message}; check loggingDir, free disk space and permissions.`, { cause });
    }
  }

  private encode(event: Record<string, unknown>): Buffer {
    return tfRecord(EVENT.encode(EVENT.fromObject({ wallTime: Date.now() / 1000, ...event })).finish());
  }
}
