/**
 * SQuAD v2 end to end through the CLI: a tiny BERT trained with `--version-2-with-negative` on
 * questions of which some have no answer (`is_impossible`) learns to answer those that have one
 * and to predict no answer for the rest, scored by exact / F1 with HasAns / NoAns splits; the
 * same file without the flag is refused naming the question and the flag.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeWordPieceTokenizer } from '@distillery/models';
import { Rng } from '@distillery/trainer';
import { cliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const cli = (args: string[]) => run(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=distillery-source', join(ROOT, 'packages/cli/src/main.ts'), '--backend', 'cpu', ...args], { cwd: ROOT });

const words = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
const FILLER = words('f', 20);
const PEOPLE = words('p', 12);
const PLACES = words('l', 12);
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'where', ...FILLER, ...PEOPLE, ...PLACES];

/**
 * SQuAD v2 JSON: "where" asks for the context's place; a third of the contexts have none, and
 * there the question is impossible (SQuAD v2's `plausible_answers` name the person instead).
 */
function squadV2(n: number, seed: number): { json: string; impossible: number } {
  const rng = new Rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)]!;
  let impossible = 0;
  const paragraphs = Array.from({ length: n }, (_, i) => {
    const parts = Array.from({ length: 3 + rng.int(3) }, () => pick(FILLER));
    const [place, person] = [pick(PLACES), pick(PEOPLE)];
    const hasPlace = rng.next() < 0.67;
    if (hasPlace) parts.splice(rng.int(parts.length + 1), 0, place);
    parts.splice(rng.int(parts.length + 1), 0, person);
    const context = parts.join(' ');
    if (!hasPlace) impossible++;
    const qa = hasPlace
      ? { id: `${seed}-${i}`, question: 'where', is_impossible: false, answers: [{ text: place, answer_start: context.indexOf(place) }] }
      : { id: `${seed}-${i}`, question: 'where', is_impossible: true, answers: [], plausible_answers: [{ text: person, answer_start: context.indexOf(person) }] };
    return { context, qas: [qa] };
  });
  return { json: JSON.stringify({ version: 'v2.0', data: [{ title: 'synthetic', paragraphs }] }), impossible };
}

const dir = tempDir('distillery-squad-v2-');
let evalImpossible = 0;
beforeAll(() => {
  writeWordPieceTokenizer(VOCAB, join(dir, 'tok'));
  writeFileSync(join(dir, 'train.json'), squadV2(128, 1).json);
  const evalSet = squadV2(80, 2);
  evalImpossible = evalSet.impossible;
  writeFileSync(join(dir, 'eval.json'), evalSet.json);
  writeFileSync(join(dir, 'qa.json'), JSON.stringify({
    task: 'question-answering',
    model: { model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 },
    tokenizer: 'tok',
    data: { train: 'train.json', eval: 'eval.json', maxLength: 16 },
    training: { numTrainEpochs: 6, learningRate: 3e-3, perDeviceTrainBatchSize: 16, saveStrategy: 'no', reportTo: [], disableTqdm: true },
  }));
});

describe('SQuAD v2 (--version-2-with-negative)', () => {
  it('trains on no-answer questions and scores exact / F1 with HasAns / NoAns splits', async () => {
    const out = join(dir, 'run');
    await cli(['train', '--config', join(dir, 'qa.json'), '--version-2-with-negative', '--output-dir', out]);
    const r = JSON.parse(readFileSync(join(out, 'train_results.json'), 'utf8')) as Record<string, number>;
    expect(r.eval_total).toBe(80);
    expect(r.eval_NoAns_total).toBe(evalImpossible);
    expect(r.eval_HasAns_total).toBe(80 - evalImpossible);
    // It learned both: always answering would score NoAns 0, never answering HasAns 0.
    expect(r.eval_NoAns_exact).toBeGreaterThan(80);
    expect(r.eval_HasAns_f1).toBeGreaterThan(80);
    expect(r.eval_exact).toBeCloseTo(((r.eval_HasAns_exact! * r.eval_HasAns_total!) + (r.eval_NoAns_exact! * r.eval_NoAns_total!)) / 80, 8);

    // eval reads the flags too: a threshold no null score can beat answers every question.
    const json = join(dir, 'eval-results.json');
    await cli(['eval', '--model', out, '--data', join(dir, 'eval.json'), '--max-length', '16', '--version-2-with-negative', '--null-score-diff-threshold', '1e9', '--json', json]);
    const e = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number>;
    expect(e.eval_NoAns_exact).toBe(0);
    expect(e.eval_HasAns_exact).toBeCloseTo(r.eval_HasAns_exact!, 8);

  }, 120_000);

  it('bad SQuAD v2 input is one typed line naming the question or flag and the fix', async () => {
    const model = join(dir, 'run');
    const refused = async (args: string[], line: RegExp) => {
      const r = await cliInProcess('eval', '--model', model, '--max-length', '16', ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(line);
    };
    // Without the flag the no-answer questions are refused, naming the question and the fix.
    await refused(['--data', join(dir, 'eval.json')], /^error \[DATA_INVALID\]: .*eval\.json data\[0\]\.paragraphs\[\d+\]\.qas\[0\]: is_impossible: a SQuAD v2 question with no answer; set taskOptions\.version2WithNegative: true \(--version-2-with-negative\)/);
    const rows = join(dir, 'rows.jsonl');
    writeFileSync(rows, `${JSON.stringify({ id: 'a', question: 'where', context: 'f1 l2 f3', answers: { text: ['l2'], answer_start: [3] } })}\n${JSON.stringify({ id: 'b', question: 'where', context: 'f1 f3', answers: { text: [], answer_start: [] } })}\n`);
    await refused(['--data', rows], /^error \[DATA_INVALID\]: .*rows\.jsonl question b: has no answers; a SQuAD v1 eval question needs one, or set taskOptions\.version2WithNegative: true/);
    writeFileSync(rows, `${JSON.stringify({ id: 'c', question: 'where', context: 'f1 l2', is_impossible: true, answers: { text: ['l2'], answer_start: [3] } })}\n`);
    await refused(['--data', rows, '--version-2-with-negative'], /^error \[DATA_INVALID\]: .*rows\.jsonl line 1: is_impossible is true but answers are given; SQuAD v2 leaves answers empty/);
    await refused(['--data', join(dir, 'eval.json'), '--null-score-diff-threshold', '1'], /^error \[CONFIG_INVALID\]: .*null-score-diff-threshold.* only applies to SQuAD v2; also set taskOptions\.version2WithNegative: true/);
  });
});
