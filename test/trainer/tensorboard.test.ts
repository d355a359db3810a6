/**
 * `reportTo: ['tensorboard']`: a real run's event file, read back byte by byte: TFRecord framing
 * (lengths and masked CRC-32Cs recomputed here), then each record decoded with a schema written
 * from TensorFlow's event.proto / summary.proto text, independent of the writer's descriptor.
 * Every logged number (loss, learning rate, grad norm, eval metrics) is there, at its step.
 */
import { crc32c } from '@aws-crypto/crc32c';
import protobuf from 'protobufjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { Trainer, initBackend, tfRecord } from '@distillery/trainer';
import { faultData } from '../reliability/helpers/fault-run.js';
import { tempDir } from '../helpers/tmp.js';

const PROTO = `
syntax = "proto3";
package tensorflow;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; bytes graph_def = 4; Summary summary = 5; }
}
message Summary {
  message Value { string node_name = 7; string tag = 1; oneof value { float simple_value = 2; bytes obsolete_old_style_histogram = 3; } }
  repeated Value value = 1;
}`;
const Event = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('tensorflow.Event');

interface DecodedEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  summary?: { value: Array<{ tag: string; simple_value: number }> };
}

const masked = (data: Uint8Array): number => {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
};

/** Split a TFRecord file, checking both CRCs of every record. */
function readRecords(bytes: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const length = Number(bytes.readBigUInt64LE(at));
    expect(bytes.readUInt32LE(at + 8), `length CRC at byte ${at}`).toBe(masked(bytes.subarray(at, at + 8)));
    const data = bytes.subarray(at + 12, at + 12 + length);
    expect(bytes.readUInt32LE(at + 12 + length), `data CRC at byte ${at}`).toBe(masked(data));
    records.push(data);
    at += 16 + length;
  }
  expect(at).toBe(bytes.length);
  return records;
}

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });

describe('TensorBoard event files', () => {
  it('masked CRC-32C matches the TFRecord reference value for a known record', () => {
    // CRC-32C("123456789") is 0xE3069283 (RFC 3720); the record's length field is 9 as uint64 LE.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const record = tfRecord(Buffer.from('123456789'));
    expect(record.length).toBe(12 + 9 + 4);
    expect(record.readUInt32LE(21)).toBe(masked(Buffer.from('123456789')));
  });

  it('a training run with evaluation writes every logged scalar, framed and checksummed', async () => {
    const outputDir = tempDir('distillery-tb-');
    const model = BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 64, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 32 }), 3);
    const trainer = new Trainer({
      model,
      args: { outputDir, maxSteps: 6, perDeviceTrainBatchSize: 4, loggingSteps: 2, evalStrategy: 'steps', evalSteps: 3, saveStrategy: 'no', disableTqdm: true, reportTo: ['tensorboard'] },
      trainDataset: faultData,
      evalDataset: faultData.slice(0, 8),
    });
    await trainer.train();
    model.dispose();

    const files = readdirSync(join(outputDir, 'runs'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\..+\.\d+\.0$/);
    const events = readRecords(readFileSync(join(outputDir, 'runs', files[0]!))).map((r) => Event.toObject(Event.decode(r), { longs: Number }) as DecodedEvent);
    expect(events[0]!.file_version).toBe('brain.Event:2');

    // One event per log call, in order, with the same step and every numeric value as float32.
    const logs = trainer.state.logHistory;
    expect(events.slice(1)).toHaveLength(logs.length);
    logs.forEach((entry, i) => {
      const event = events[i + 1]!;
      expect(event.step).toBe(entry.step);
      expect(event.wall_time).toBeGreaterThan(1.7e9);
      const scalars = Object.fromEntries(event.summary!.value.map((v) => [v.tag, v.simple_value]));
      const expected = Object.fromEntries(Object.entries(entry).filter(([k, v]) => k !== 'step' && Number.isFinite(v)).map(([k, v]) => [k.startsWith('eval_') ? `eval/${k.slice(5)}` : `train/${k}`, Math.fround(v)]));
      expect(scalars).toEqual(expected);
    });
    const tags = new Set(events.flatMap((e) => e.summary?.value.map((v) => v.tag) ?? []));
    for (const tag of ['train/loss', 'train/learning_rate', 'train/grad_norm', 'train/epoch', 'eval/loss', 'train/train_loss']) expect(tags, tag).toContain(tag);
  });
});
