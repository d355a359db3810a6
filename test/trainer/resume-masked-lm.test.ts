/**
 * Masked-LM resume: the collator's masking generator is saved in rng_state.json and restored,
 * so a run stopped at step k and resumed (with a fresh collator, as a new process has) ends
 * with a model.safetensors byte-identical to an uninterrupted run's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AutoConfig, BertForMaskedLM } from '@distillery/models';
import { DataCollatorForLanguageModeling, Rng, Trainer, initBackend, type Example, type TrainerCallback } from '@distillery/trainer';
import { quietArgs, tempDir } from './helpers/setup.js';

const VOCAB = 30;
const config = AutoConfig.forModel('bert', { vocabSize: VOCAB, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 32 });
// 24 blocks [CLS] w… [SEP]; batch 4 → 6 steps an epoch, 2 epochs; a checkpoint every 2 steps.
const rng = new Rng(5);
const data: Example[] = Array.from({ length: 24 }, () => ({ inputIds: [2, ...Array.from({ length: 8 + rng.int(4) }, () => 5 + rng.int(VOCAB - 5)), 3] }));
const args = (outputDir: string) => quietArgs({ outputDir, numTrainEpochs: 2, perDeviceTrainBatchSize: 4, saveStrategy: 'steps', saveSteps: 2, seed: 3 });
const collator = () => new DataCollatorForLanguageModeling({ vocabSize: VOCAB, maskTokenId: 4, specialTokenIds: [0, 2, 3], padTokenId: 0, mlmProbability: 0.3, seed: 42 });
const stopAt = (step: number): TrainerCallback => ({ onStepEnd: (_a, s, c) => void (s.globalStep === step && (c.shouldTrainingStop = true)) });

/** Train (resuming from `resume` when given) and return the saved model.safetensors bytes. */
async function run(outputDir: string, init: number, options: { stop?: number; resume?: string } = {}): Promise<Buffer> {
  const model = new BertForMaskedLM(config, init);
  const trainer = new Trainer({ model, args: args(outputDir), trainDataset: data, dataCollator: collator(), callbacks: options.stop ? [stopAt(options.stop)] : [] });
  await trainer.train(options.resume ? { resumeFromCheckpoint: options.resume } : {});
  const saved = join(outputDir, `final-${init}`);
  await trainer.saveModel(saved);
  model.dispose();
  return readFileSync(join(saved, 'model.safetensors'));
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
});

describe('masked-LM resume', () => {
  it('stopped at step 4 (mid-epoch) and resumed with a fresh collator: byte-identical weights', async () => {
    const reference = await run(tempDir(), 1);
    const dir = tempDir();
    await run(dir, 1, { stop: 4 });
    const ckpt = join(dir, 'checkpoint-4');
    const state = JSON.parse(readFileSync(join(ckpt, 'rng_state.json'), 'utf8')) as { collator: { rng: number } };
    expect(Number.isInteger(state.collator.rng)).toBe(true);
    // Another initialisation: everything must come from the checkpoint.
    const resumed = await run(dir, 77, { resume: ckpt });
    expect(resumed.equals(reference)).toBe(true);

    // Without the collator state (a checkpoint from before it was saved) the masks differ, and it is said.
    delete (state as { collator?: unknown }).collator;
    writeFileSync(join(ckpt, 'rng_state.json'), JSON.stringify(state));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const fresh = await run(dir, 77, { resume: ckpt });
    expect(warn.mock.calls.flat().join('\n')).toMatch(/rng_state\.json holds no collator state .*draws fresh masks/);
    warn.mockRestore();
    expect(fresh.equals(reference)).toBe(false);
  });

  it('refuses a collator state that is not one, naming rng_state.json', async () => {
    const dir = tempDir();
    await run(dir, 1, { stop: 2 });
    const ckpt = join(dir, 'checkpoint-2');
    const state = JSON.parse(readFileSync(join(ckpt, 'rng_state.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(ckpt, 'rng_state.json'), JSON.stringify({ ...state, collator: { rng: -1 } }));
    await expect(run(dir, 1, { resume: ckpt })).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining(`${ckpt}/rng_state.json: collator must be {"rng": <uint32>}`) });
  });
});
