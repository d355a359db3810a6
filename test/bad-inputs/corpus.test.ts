import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  AutoModel, AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification, DistilleryModelsError,
  createConfig, loadConfig, readSafetensors, writeWordPieceTokenizer,
} from '@distillery/models';
import { DistillationTrainer, DistilleryPluginsError, LogitKdPlugin } from '@distillery/plugins';
import { DistilleryTrainerError, Trainer, initBackend, validateDataset, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { safetensorsCases } from './generate.js';

interface Case { path: string; kind: string; code: string; mentions?: string; what: string }

const ROOT = import.meta.dirname;
const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as { cases: Case[] };
const scratch = mkdtempSync(join(tmpdir(), 'distillery-bad-'));
beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Dataset cases are JSON Lines of tokenized rows for a classifier with this many labels. */
const DATASET_NUM_LABELS = 3;
const readJsonl = (path: string): Example[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Example);

/** A clean dataset (ids below every case's vocab_size of 100) for the cases that are about something else. */
const cleanRows: Example[] = Array.from({ length: 8 }, (_, i) => ({ inputIds: [2, 10 + i, 20 + i, 3], label: i % 2 }));
const quiet = (name: string): TrainingArgumentsInit => ({ outputDir: join(scratch, name), maxSteps: 1, perDeviceTrainBatchSize: 4, disableTqdm: true, reportTo: [], saveStrategy: 'no' });
const tinyBert = (): BertForSequenceClassification =>
  BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 100, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32 }));

/**
 * kind → how a user would open such an input, and the error class it must raise. `namesPath`:
 * the library reads the case from disk, so its message must name the path; training arguments
 * and model pairs reach it as objects, so there `mentions` (the field) is required instead.
 */
const LOADERS: Record<string, { error: new (...args: never[]) => Error; namesPath: boolean; load: (path: string) => unknown }> = {
  safetensors: { error: DistilleryModelsError, namesPath: true, load: (path) => readSafetensors(path) },
  tokenizer: { error: DistilleryModelsError, namesPath: true, load: (path) => AutoTokenizer.fromPretrained(path) },
  vocab: { error: DistilleryModelsError, namesPath: true, load: (path) => writeWordPieceTokenizer(path, join(scratch, 'vocab-out')) },
  config: { error: DistilleryModelsError, namesPath: true, load: (path) => AutoModel.fromPretrained(path, { log: false }) },
  dataset: { error: DistilleryTrainerError, namesPath: true, load: (path) => validateDataset(readJsonl(path), path, DATASET_NUM_LABELS) },
  'training-args': {
    error: DistilleryTrainerError,
    namesPath: false,
    load: async (path) => {
      const model = tinyBert();
      try {
        await new Trainer({ model, args: { ...quiet('args'), ...(JSON.parse(readFileSync(path, 'utf8')) as object) }, trainDataset: cleanRows }).train();
      } finally {
        model.dispose();
      }
    },
  },
  'distillation-pair': {
    error: DistilleryPluginsError,
    namesPath: false,
    load: async (path) => {
      const teacher = AutoModelForSequenceClassification.fromConfig(loadConfig(join(path, 'teacher')));
      const student = AutoModelForSequenceClassification.fromConfig(loadConfig(join(path, 'student')));
      try {
        await new DistillationTrainer({ model: student, teacher, plugins: [new LogitKdPlugin()], args: quiet('pair'), trainDataset: cleanRows }).train();
      } finally {
        teacher.dispose();
        student.dispose();
      }
    },
  },
};

describe('bad-input corpus', () => {
  it.each(manifest.cases.map((c) => [c.path, c] as const))('%s', async (_, c) => {
    const loader = LOADERS[c.kind];
    expect(loader, `no loader for kind "${c.kind}" in corpus.test.ts`).toBeDefined();
    const path = join(ROOT, c.path);
    let thrown: unknown;
    try {
      await loader!.load(path);
    } catch (e) {
      thrown = e;
    }
    expect(thrown, `${c.path} (${c.what}) loaded without error`).toBeInstanceOf(loader!.error);
    const error = thrown as Error & { code: string };
    expect(error.code).toBe(c.code);
    if (loader!.namesPath) expect(error.message).toContain(path);
    else expect(c.mentions, `${c.path}: kind "${c.kind}" needs "mentions" (the field its message names)`).toBeDefined();
    if (c.mentions) expect(error.message).toContain(c.mentions);
  });

  it('lists every corpus file in the manifest, and only existing ones', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else files.push(relative(ROOT, full));
      }
    };
    for (const name of readdirSync(ROOT)) if (statSync(join(ROOT, name)).isDirectory()) walk(join(ROOT, name));
    const orphans = files.filter((f) => !manifest.cases.some((c) => f === c.path || f.startsWith(`${c.path}/`)));
    expect(orphans).toEqual([]);
    const missing = manifest.cases.filter((c) => !files.some((f) => f === c.path || f.startsWith(`${c.path}/`)));
    expect(missing).toEqual([]);
  });

  it('committed safetensors cases match generate.ts', () => {
    for (const [name, bytes] of safetensorsCases()) {
      expect(Buffer.from(readFileSync(join(ROOT, 'safetensors', name))).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });
});
