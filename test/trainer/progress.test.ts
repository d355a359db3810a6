import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressCallback, Trainer } from '@distillery/trainer';
import { TinyClassifier } from './helpers/tiny-classifier.js';
import { majorityTask } from './helpers/data.js';
import { quietArgs } from './helpers/setup.js';

/** A stream that records what is written, posing as a terminal (or not). */
function captureStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => void (chunks.push(String(chunk)), done()) }) as unknown as NodeJS.WriteStream & Record<string, unknown>;
  Object.assign(stream, { isTTY, columns: 160, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream, text: () => chunks.join('') };
}

async function trainWith(progress: ProgressCallback): Promise<void> {
  const model = new TinyClassifier({}, 3);
  const trainer = new Trainer({ model, args: quietArgs({ maxSteps: 12, perDeviceTrainBatchSize: 8, loggingSteps: 4 }), trainDataset: majorityTask(96, 5), callbacks: [progress] });
  await trainer.train();
  model.dispose();
}

describe('ProgressCallback', () => {
  it('draws a bar with steps, live loss, learning rate and ETA on a terminal', async () => {
    const { stream, text } = captureStream(true);
    await trainWith(new ProgressCallback(stream));
    expect(text()).toMatch(/train \|.*\| 12\/12 steps \| loss \d\.\d{4} \| lr \d\.\d{2}e-?\d+ \| ETA/);
  });

  it('stays silent when the output is not a terminal', async () => {
    const { stream, text } = captureStream(false);
    await trainWith(new ProgressCallback(stream));
    expect(text()).toBe('');
  });
});
