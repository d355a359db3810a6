/**
 * RoBERTa (byte-level BPE, one token type, pad id 1) through `distillery train` for the two
 * readers that tokenize as HF does per task: token classification (pre-split words, each with
 * its `Ġ` space) and question answering (offsets mapping with trimmed spaces). A tiny model
 * learns each synthetic set, so labels and answer spans line up with the tokens.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeByteLevelBpeTokenizer } from '../helpers/byte-level-bpe.js';
import { cliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('distillery-roberta-tasks-');
const PEOPLE = ['John', 'Mary', 'Alice'];
const PLACES = ['Paris', 'Rome', 'Oslo'];
let vocabSize = 0;

beforeAll(() => {
  const tok = writeByteLevelBpeTokenizer(join(dir, 'tok'), [...[...PEOPLE, ...PLACES, 'lives', 'in', 'Where', 'does', 'live'].map((w) => ` ${w}`), ...PEOPLE]);
  vocabSize = Object.keys((JSON.parse(readFileSync(join(tok, 'tokenizer.json'), 'utf8')) as { model: { vocab: object } }).model.vocab).length;
  const rows = Array.from({ length: 48 }, (_, i) => {
    const [person, place] = [PEOPLE[i % 3]!, PLACES[Math.floor(i / 3) % 3]!];
    return { person, place, context: `${person} lives in ${place}.` };
  });
  writeFileSync(join(dir, 'ner.jsonl'), rows.map(({ person, place }) => JSON.stringify({ tokens: [person, 'lives', 'in', place, '.'], tags: ['B-PER', 'O', 'O', 'B-LOC', 'O'] })).join('\n'));
  const paragraphs = rows.map(({ person, place, context }, i) => ({ context, qas: [{ id: `q${i}`, question: `Where does ${person} live?`, answers: [{ text: place, answer_start: context.indexOf(place) }] }] }));
  writeFileSync(join(dir, 'squad.json'), JSON.stringify({ data: [{ paragraphs }] }));
});

const config = (task: string, data: string, maxLength: number) => {
  const file = join(dir, `${task}.json`);
  writeFileSync(file, JSON.stringify({
    task,
    model: { model_type: 'roberta', vocab_size: vocabSize, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 40, type_vocab_size: 1, pad_token_id: 1 },
    tokenizer: 'tok',
    data: { train: data, eval: data, maxLength },
    training: { outputDir: join(dir, `${task}-out`), numTrainEpochs: 3, learningRate: 5e-3, perDeviceTrainBatchSize: 8, saveStrategy: 'no', reportTo: [], disableTqdm: true },
  }));
  return file;
};
const results = (task: string) => JSON.parse(readFileSync(join(dir, `${task}-out`, 'train_results.json'), 'utf8')) as Record<string, number>;

describe('RoBERTa tasks through the CLI', () => {
  it('token classification learns entity F1 1 on pre-split words', async () => {
    const r = await cliInProcess('train', '--config', config('token-classification', 'ner.jsonl', 24));
    expect(r.code, r.stderr).toBe(0);
    expect(results('token-classification').eval_f1).toBe(1);
  });

  it('question answering finds every answer span (exact match 100)', async () => {
    const r = await cliInProcess('train', '--config', config('question-answering', 'squad.json', 32));
    expect(r.code, r.stderr).toBe(0);
    expect(results('question-answering').eval_exact_match).toBe(100);
  });
});
