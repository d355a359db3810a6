/**
 * `--task` end to end (real processes) on the example data under examples/tasks: token
 * classification trains and evaluates (task inferred from the saved head), masked LM distils
 * into a student started from the teacher's layers and reports perplexity, question answering
 * trains and scores SQuAD EM/F1 (and SQuAD v2's HasAns / NoAns splits); bad task input fails as one typed line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const EXAMPLES = join(ROOT, 'examples/tasks');
const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'distillery-cli-tasks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=distillery-source', join(ROOT, 'packages/cli/src/main.ts'), '--backend', 'cpu', ...args], { cwd: ROOT });
}
const results = (dir: string): Record<string, number> => JSON.parse(readFileSync(join(dir, 'train_results.json'), 'utf8')) as Record<string, number>;
/** The examples' configs, shrunk to a few steps of a small model. */
const small = (section: 'model' | 'student') => ['--set', `${section}.hidden_size=32`, '--set', `${section}.intermediate_size=64`];

describe('distillery --task', () => {
  const ner = join(tmp, 'ner');

  it('token-classification: train reports entity F1; eval infers the task from the saved head and agrees', async () => {
    await cli(['train', '--config', join(EXAMPLES, 'ner-teacher.yaml'), '--output-dir', ner, '--max-steps', '40', ...small('model'), '--set', 'model.num_hidden_layers=2']);
    const trained = results(ner);
    expect(trained.eval_f1).toBeGreaterThan(0.9);
    const json = join(tmp, 'ner-eval.json');
    const { stdout } = await cli(['eval', '--model', ner, '--data', join(EXAMPLES, 'ner-eval.jsonl'), '--max-length', '40', '--json', json]);
    expect(stdout).toMatch(/^eval token-classification: /);
    const evaluated = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number | string>;
    expect(evaluated.task).toBe('token-classification');
    expect(evaluated.eval_f1).toBeCloseTo(trained.eval_f1!, 10);
  });

  it('masked-lm: distil from a teacher into a student started from its first layers; perplexity = exp(loss)', async () => {
    const teacher = join(tmp, 'mlm-teacher');
    const student = join(tmp, 'mlm-student');
    await cli(['train', '--config', join(EXAMPLES, 'mlm-teacher.yaml'), '--output-dir', teacher, '--max-steps', '12', ...small('model'), '--set', 'model.num_hidden_layers=2']);
    const { stderr } = await cli(['distill', '--config', join(EXAMPLES, 'mlm-distill.yaml'), '--teacher', teacher, '--output-dir', student, '--max-steps', '4', '--init-from-teacher', 'first-k', '--set', 'student.dim=32', '--set', 'student.hidden_dim=64']);
    expect(stderr).toMatch(/student initialised from the teacher's layers 0, 1 \(\d+ tensors copied, 0 left fresh\)/);
    const r = results(student);
    expect(r.eval_perplexity).toBeCloseTo(Math.exp(r.eval_loss!), 6);
    expect(r.eval_loss).toBeLessThan(Math.log(74));
  });

  it('question-answering: SQuAD files train a model scored by exact match and F1', async () => {
    const qa = join(tmp, 'qa');
    await cli(['train', '--config', join(EXAMPLES, 'qa-teacher.yaml'), '--output-dir', qa, '--max-steps', '6', ...small('model'), '--set', 'model.num_hidden_layers=1']);
    const r = results(qa);
    expect(r.eval_exact_match).toBeGreaterThanOrEqual(0);
    expect(r.eval_f1).toBeGreaterThanOrEqual(r.eval_exact_match!);
    expect(r.eval_f1).toBeLessThanOrEqual(100);
  });

  it('question-answering, SQuAD v2: the example config scores exact / F1 split into HasAns / NoAns', async () => {
    const qa = join(tmp, 'qa-v2');
    await cli(['train', '--config', join(EXAMPLES, 'qa-v2-teacher.yaml'), '--output-dir', qa, '--max-steps', '4', ...small('model'), '--set', 'model.num_hidden_layers=1']);
    const r = results(qa);
    const questions = (JSON.parse(readFileSync(join(EXAMPLES, 'squad-v2-eval.json'), 'utf8')) as { data: Array<{ paragraphs: Array<{ qas: Array<{ is_impossible: boolean }> }> }> }).data[0]!.paragraphs.flatMap((p) => p.qas);
    const impossible = questions.filter((q) => q.is_impossible).length;
    expect(impossible).toBeGreaterThan(0);
    expect([r.eval_total, r.eval_HasAns_total, r.eval_NoAns_total]).toEqual([questions.length, questions.length - impossible, impossible]);
    expect(r.eval_exact).toBeCloseTo((r.eval_HasAns_exact! * r.eval_HasAns_total! + r.eval_NoAns_exact! * r.eval_NoAns_total!) / questions.length, 8);
  });

  it('refuses task rows without their fields, and a student narrower than the teacher it starts from, as one typed line', async () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, '{"tokens": ["alice"], "tags": ["B-PER"]}\n{"text": "no tags"}\n');
    const e1 = await cli(['eval', '--model', ner, '--data', bad, '--task', 'token-classification']).catch((e: { stderr: string }) => e);
    expect(e1.stderr.trim().split('\n').at(-1)).toMatch(/^error \[DATA_INVALID\]: .*bad\.jsonl line 2: tokens must be a non-empty list of non-empty strings/);
    const e2 = await cli(['distill', '--config', join(EXAMPLES, 'ner-distill.yaml'), '--teacher', ner, '--output-dir', join(tmp, 'narrow'), '--set', 'student.hidden_size=16']).catch((e: { stderr: string }) => e);
    expect(e2.stderr.trim().split('\n').at(-1)).toMatch(/^error \[WEIGHT_SHAPE_MISMATCH\]: init from teacher: the student is 16 wide and the teacher 32; .* Make the student's hidden_size 32/);
  });
});
