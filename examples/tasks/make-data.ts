/**
 * Writes the small data files the task configs in this folder read (committed; rerun to
 * regenerate them): a WordPiece tokenizer over their words (tok/), NER rows {tokens, tags}
 * (ner-*.jsonl), SQuAD-format questions (squad-*.json; squad-v2-*.json with no-answer questions)
 * and plain text for masked LM (mlm-*.txt).
 * The sentences are templated: people go to places on days, so entities, answers and masked
 * words follow from context.
 *
 *   npx tsx --conditions=distillery-source examples/tasks/make-data.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeWordPieceTokenizer } from '@distillery/models';
import { Rng } from '@distillery/trainer';

const DIR = new URL('.', import.meta.url).pathname;
const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar', 'peggy', 'trent', 'victor', 'wendy'];
const SURNAMES = ['smith', 'jones', 'brown', 'taylor', 'wilson', 'moore'];
const PLACES = ['paris', 'rome', 'berlin', 'madrid', 'vienna', 'prague', 'lisbon', 'oslo', 'dublin', 'athens', 'warsaw', 'zurich'];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const VERBS = ['went', 'travelled', 'flew', 'drove', 'moved'];
const WORDS = ['to', 'on', 'in', 'the', 'with', 'and', 'then', 'stayed', 'home', 'where', 'did', 'go', 'who', 'when', 'a', 'friend', 'city', 'is', 'big', 'old', 'visited', '.', '?'];

const rng = new Rng(2024);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;

/** One templated sentence as words with IOB2 tags, and its facts. */
function sentence(): { words: string[]; tags: string[]; person: string; place: string; day: string } {
  const person = [pick(PEOPLE), ...(rng.next() < 0.4 ? [pick(SURNAMES)] : [])];
  const [place, day] = [pick(PLACES), pick(DAYS)];
  const words = [...person, pick(VERBS), 'to', place, 'on', day, '.'];
  const tags = [...person.map((_, i) => (i === 0 ? 'B-PER' : 'I-PER')), 'O', 'O', 'B-LOC', 'O', 'O', 'O'];
  return { words, tags, person: person.join(' '), place, day };
}

function ner(n: number): string {
  return Array.from({ length: n }, () => {
    const [a, b] = [sentence(), sentence()];
    return JSON.stringify({ tokens: [...a.words, ...b.words], tags: [...a.tags, ...b.tags] });
  }).join('\n') + '\n';
}

function squad(n: number, prefix: string): string {
  const paragraphs = Array.from({ length: n }, (_, i) => {
    const facts = Array.from({ length: 3 }, sentence);
    const context = facts.map((f) => f.words.join(' ')).join(' ');
    const f = facts[rng.int(facts.length)]!;
    const [question, answer] = rng.next() < 0.5 ? [`where did ${f.person} go ?`, f.place] : [`when did ${f.person} go to ${f.place} ?`, f.day];
    // The fact's own sentence holds the answer (a person may appear twice).
    const at = context.indexOf(f.words.join(' ')) + f.words.join(' ').indexOf(` ${answer} `) + 1;
    return { context, qas: [{ id: `${prefix}-${i}`, question, answers: [{ text: answer, answer_start: at }] }] };
  });
  return `${JSON.stringify({ version: 'v1.1', data: [{ title: 'trips', paragraphs }] })}\n`;
}

/**
 * SQuAD v2: a third of the questions ask where someone went who is not in the context
 * (`is_impossible`, no answers); the rest are answerable as in `squad`.
 */
function squadV2(n: number, prefix: string): string {
  const paragraphs = Array.from({ length: n }, (_, i) => {
    const facts = Array.from({ length: 3 }, sentence);
    const context = facts.map((f) => f.words.join(' ')).join(' ');
    const absent = PEOPLE.filter((p) => !context.split(' ').includes(p));
    if (rng.next() < 0.33) {
      return { context, qas: [{ id: `${prefix}-${i}`, question: `where did ${pick(absent)} go ?`, is_impossible: true, answers: [] }] };
    }
    const f = facts[rng.int(facts.length)]!;
    const at = context.indexOf(f.words.join(' ')) + f.words.join(' ').indexOf(` ${f.place} `) + 1;
    return { context, qas: [{ id: `${prefix}-${i}`, question: `where did ${f.person} go ?`, is_impossible: false, answers: [{ text: f.place, answer_start: at }] }] };
  });
  return `${JSON.stringify({ version: 'v2.0', data: [{ title: 'trips', paragraphs }] })}\n`;
}

function text(n: number): string {
  return Array.from({ length: n }, () => {
    const s = sentence();
    return `${s.words.join(' ')} the city is ${pick(['big', 'old'])} .`;
  }).join('\n') + '\n';
}

writeWordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...PEOPLE, ...SURNAMES, ...PLACES, ...DAYS, ...VERBS, ...WORDS], join(DIR, 'tok'), { modelMaxLength: 64 });
writeFileSync(join(DIR, 'ner-train.jsonl'), ner(240));
writeFileSync(join(DIR, 'ner-eval.jsonl'), ner(60));
writeFileSync(join(DIR, 'squad-train.json'), squad(240, 'train'));
writeFileSync(join(DIR, 'squad-eval.json'), squad(60, 'eval'));
writeFileSync(join(DIR, 'mlm-train.txt'), text(600));
writeFileSync(join(DIR, 'mlm-eval.txt'), text(80));
// Last, so the files above stay as they were before these were added.
writeFileSync(join(DIR, 'squad-v2-train.json'), squadV2(240, 'train'));
writeFileSync(join(DIR, 'squad-v2-eval.json'), squadV2(60, 'eval'));
console.log(`wrote tok/, ner-*.jsonl, squad-*.json, squad-v2-*.json, mlm-*.txt into ${DIR}`);
