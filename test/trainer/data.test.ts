import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DataCollatorWithPadding, DataLoader, Rng, countItems, lengthGroupedOrder, validateDataset, type Example } from '@distillery/trainer';

describe('DataCollatorWithPadding', () => {
  it('pads to the longest example (or a multiple) with masks, token types and labels', () => {
    const collator = new DataCollatorWithPadding({ padTokenId: 9, padToMultipleOf: 4 });
    const batch = collator.collate([
      { inputIds: [1, 2, 3], tokenTypeIds: [0, 1, 1], label: 1 },
      { inputIds: [4, 5, 6, 7, 8], label: 0 },
    ]);
    expect(batch.inputIds.shape).toEqual([2, 8]);
    expect(batch.inputIds.arraySync()).toEqual([[1, 2, 3, 9, 9, 9, 9, 9], [4, 5, 6, 7, 8, 9, 9, 9]]);
    expect(batch.attentionMask.arraySync()).toEqual([[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]]);
    expect(batch.tokenTypeIds!.arraySync()[0]).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    expect(batch.labels!.dtype).toBe('int32');
    tf.dispose(Object.values(batch));
    const tokens = new DataCollatorWithPadding().collate([{ inputIds: [1, 2], labels: [5, -100] }, { inputIds: [3], labels: [7] }]);
    expect(tokens.labels!.arraySync()).toEqual([[5, -100], [7, -100]]);
    expect(tokens.tokenTypeIds).toBeUndefined();
    tf.dispose(Object.values(tokens));
    const regression = new DataCollatorWithPadding({ labelDtype: 'float32' }).collate([{ inputIds: [1], label: 2 }]);
    expect(regression.labels!.dtype).toBe('float32');
    tf.dispose(Object.values(regression));
  });

  it('counts items as labelled tokens or examples', () => {
    expect(countItems([{ inputIds: [1, 2], labels: [5, -100] }, { inputIds: [3], labels: [7] }])).toBe(2);
    expect(countItems([{ inputIds: [1], label: 0 }, { inputIds: [2], label: 1 }, { inputIds: [3], label: 1 }])).toBe(3);
  });
});

describe('dataset validation', () => {
  it.each([
    [[], 'train is empty'],
    [[{ inputIds: [1, 2.5], label: 0 }], 'train[0].inputIds[1]'],
    [[{ inputIds: [1], label: 0 }, { inputIds: [1], label: 3 }], 'train[1].label: 3 is outside 0..1'],
    [[{ inputIds: [1], label: 0 }, { inputIds: [1], labels: [0] }], 'train[1].labels'],
    [[{ inputIds: [1], label: 0, text: 7 }], 'train[0].text: must be a string'],
    [[{ inputIds: [1, 2], attentionMask: [1], label: 0 }], 'train[0].attentionMask'],
  ])('rejects %j with DATASET_INVALID naming %s', (data, where) => {
    expect(() => validateDataset(data as Example[], 'train', 2)).toThrow(expect.objectContaining({ code: 'DATASET_INVALID', message: expect.stringContaining(where) }));
  });
});

describe('DataLoader and samplers', () => {
  const data: Example[] = Array.from({ length: 10 }, (_, i) => ({ inputIds: Array.from({ length: 1 + (i % 5) }, () => 1), label: i % 2 }));
  const order = async (loader: DataLoader) => {
    const out: number[][] = [];
    for await (const b of loader.epoch()) out.push(b.indices);
    return out;
  };

  it('shuffles reproducibly per seed, differently per epoch, and resumes mid-epoch from its state', async () => {
    const a = new DataLoader(data, { batchSize: 3, shuffle: true, seed: 1 });
    const e0 = await order(a);
    const e1 = await order(a);
    expect(e0.flat().sort((x, y) => x - y)).toEqual([...data.keys()]);
    expect(e0.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(e1).not.toEqual(e0);
    expect(await order(new DataLoader(data, { batchSize: 3, shuffle: true, seed: 1 }))).toEqual(e0);

    const b = new DataLoader(data, { batchSize: 3, shuffle: true, seed: 1 });
    const gen = b.epoch();
    await gen.next();
    await gen.next();
    const saved = b.state();
    expect(saved).toMatchObject({ epoch: 0, batchIndex: 2 });
    const c = new DataLoader(data, { batchSize: 3, shuffle: true, seed: 1 });
    c.loadState(saved);
    expect(await order(c)).toEqual(e0.slice(2));
    expect(await order(c)).toEqual(e1);
    expect(new DataLoader(data, { batchSize: 3, shuffle: false, dropLast: true }).numBatches).toBe(3);
  });

  it('groups by length with the longest example first', () => {
    const lengths = Array.from({ length: 200 }, (_, i) => (i * 37) % 50);
    const o = lengthGroupedOrder(lengths, 2, new Rng(3));
    expect([...o].sort((x, y) => x - y)).toEqual([...lengths.keys()]);
    expect(lengths[o[0]!]).toBe(49);
    // within a mega-batch (100 items) lengths descend after the first swap
    const mega = o.slice(1, 100).map((i) => lengths[i]!);
    expect(mega).toEqual([...mega].sort((x, y) => y - x));
  });

  it('streams an async iterable in order, validating as it goes', async () => {
    const bad: Example[] = [{ inputIds: [1], label: 0 }, { inputIds: [], label: 1 }];
    const loader = new DataLoader({ async *[Symbol.asyncIterator]() { yield* bad; } }, { batchSize: 1, shuffle: true, name: 'stream' });
    await expect(order(loader)).rejects.toThrow(/stream\[1\]\.inputIds/);
    const ok = new DataLoader({ async *[Symbol.asyncIterator]() { yield* data; } }, { batchSize: 4, shuffle: true });
    expect(await order(ok)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(ok.numBatches).toBeUndefined();
  });
});
