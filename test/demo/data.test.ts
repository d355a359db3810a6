import { beforeAll, describe, expect, it } from 'vitest';
import { dedupeKey } from '../../examples/demo/clean.js';
import { emailToText, formatDataStats, loadSpamAssassin, loadUnlabelledSentences } from '../../examples/demo/data.js';
import type { SpamAssassinData } from '../../examples/demo/data.js';
import { parseEmail } from '../../examples/demo/email.js';
import { encodeSplit, encodeTexts, toExamples } from '../../examples/demo/encode.js';
import type { Encoding, Tokenize } from '../../examples/demo/encode.js';
import { DistilleryDemoError } from '../../examples/demo/errors.js';
import { stratifiedSplit } from '../../examples/demo/split.js';

const spamShare = (labels: readonly number[]) => labels.filter((l) => l === 1).length / labels.length;

describe('parseEmail', () => {
  it('reads a multipart/alternative message: plain part preferred, QP decoded, headers gone', () => {
    const raw = [
      'From spammer@example.com  Thu Aug 22 12:36:23 2002',
      'Received: from mail.example.com (mail [10.0.0.1])',
      '\tby mx.example.org with SMTP id 123',
      'Subject: =?iso-8859-1?Q?Caf=E9_offer?= =?utf-8?B?IOKCrDEw?=',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      'This is a multi-part message in MIME format.',
      '--b1',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Only today: caf=E9 au lait for =',
      'everyone.',
      '--b1',
      'Content-Type: text/html',
      '',
      '<html><body><p>HTML twin</p></body></html>',
      '--b1--',
      '',
    ].join('\r\n');
    const { subject, body } = parseEmail(raw);
    expect(subject).toBe('Café offer €10');
    expect(body.trim()).toBe('Only today: café au lait for everyone.');
  });

  it('reduces HTML and base64 parts to text and skips attachments', () => {
    const html = Buffer.from('<html><head><style>p{color:red}</style></head><body><p>Win&nbsp;big &amp; <a href="http://www.casino.example/x?id=1">now</a></p></body></html>').toString('base64');
    const raw = [
      'Subject: hi',
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      html.slice(0, 40),
      html.slice(40),
      '--outer',
      'Content-Type: application/octet-stream; name="x.exe"',
      'Content-Disposition: attachment',
      'Content-Transfer-Encoding: base64',
      '',
      'TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAA',
      '--outer--',
    ].join('\n');
    const text = emailToText(raw);
    expect(text).toBe('hi Win big & casino.example now');
  });

  it('drops quoted replies, pasted headers and signatures', () => {
    const raw = [
      'Subject: Re: build broken',
      '',
      'On Tue, 6 Aug 2002, Jim wrote:',
      '> it fails on startup',
      'Chris> old supercite quote',
      '    Message-ID:  <123@example.com>',
      'Fixed in CVS, see http://cvs.example.org/x.c?rev=2 or mail me@example.org.',
      '-- ',
      'Chris, 555-1234',
    ].join('\n');
    expect(emailToText(raw)).toBe('Re: build broken Fixed in CVS, see cvs.example.org or mail email .');
  });
});

describe('loadSpamAssassin', () => {
  let data: SpamAssassinData;
  beforeAll(() => {
    data = loadSpamAssassin({ labelledFraction: 0.1, seed: 7 });
  });

  it('accounts for every email and keeps the corpus', () => {
    const { stats } = data;
    expect(stats.raw).toBe(6046);
    expect(stats.kept + stats.empty + stats.duplicates + stats.conflicting).toBe(stats.raw);
    expect(stats.kept).toBeGreaterThan(5500); // dedupe removes the known repeats, not the corpus
    expect(data.train.texts.length + data.validation.texts.length + data.test.texts.length).toBe(stats.kept);
    expect(formatDataStats(stats)).toContain(`${stats.raw} emails → ${stats.kept} kept`);
    for (const split of [data.train, data.validation, data.test]) {
      expect(split.texts.every((t) => dedupeKey(t).length > 0)).toBe(true);
      expect(split.labels.every((l) => l === 0 || l === 1)).toBe(true);
    }
  });

  it('splits 80/10/10, stratified by class', () => {
    const n = data.stats.kept;
    expect(Math.abs(data.train.texts.length / n - 0.8)).toBeLessThan(0.002);
    expect(Math.abs(data.validation.texts.length / n - 0.1)).toBeLessThan(0.002);
    const overall = spamShare([...data.train.labels, ...data.validation.labels, ...data.test.labels]);
    expect(overall).toBeGreaterThan(0.25);
    expect(overall).toBeLessThan(0.4);
    for (const split of [data.train, data.validation, data.test, data.labelled]) {
      expect(Math.abs(spamShare(split.labels) - overall)).toBeLessThan(0.01);
    }
  });

  it('has no message in two splits after dedupe', () => {
    const keys = [data.train, data.validation, data.test].map((s) => new Set(s.texts.map(dedupeKey)));
    const total = keys.reduce((a, k) => a + k.size, 0);
    expect(new Set(keys.flatMap((k) => [...k])).size).toBe(total);
    const ids = [data.train, data.validation, data.test].flatMap((s) => s.ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('takes the labelled fraction from train and leaves the rest as the unlabelled transfer set', () => {
    const { train, labelled, unlabelled } = data;
    expect(labelled.texts.length).toBeCloseTo(train.texts.length * 0.1, -1);
    const trainIds = new Set(train.ids);
    expect(labelled.ids.every((id) => trainIds.has(id))).toBe(true);
    expect(labelled.texts.length + unlabelled.length).toBe(train.texts.length);
    const labelledTexts = new Set(labelled.texts);
    expect(unlabelled.some((t) => labelledTexts.has(t))).toBe(false);
  });

  it('is deterministic; the split is fixed while --seed moves only the labelled subset', () => {
    const again = loadSpamAssassin({ labelledFraction: 0.1, seed: 7 });
    expect(again.train.ids).toEqual(data.train.ids);
    expect(again.test.ids).toEqual(data.test.ids);
    expect(again.labelled.ids).toEqual(data.labelled.ids);
    const reseeded = loadSpamAssassin({ labelledFraction: 0.05, seed: 8 });
    expect(reseeded.test.ids).toEqual(data.test.ids);
    expect(reseeded.labelled.ids).not.toEqual(data.labelled.ids.slice(0, reseeded.labelled.ids.length));
    // Same seed, smaller fraction: a subset of the larger one (prefix of one per-class order).
    const smaller = loadSpamAssassin({ labelledFraction: 0.05, seed: 7 });
    const larger = new Set(data.labelled.ids);
    expect(smaller.labelled.ids.every((id) => larger.has(id))).toBe(true);
  });

  it('leaves no transport or MIME header lines in any text', () => {
    const texts = [data.train, data.validation, data.test].flatMap((s) => s.texts);
    const header = /Return-Path:|Delivered-To:|Received: from|X-Mailer:|MIME-Version: 1|Content-Transfer-Encoding: (7bit|8bit|base64|quoted)/i;
    expect(texts.filter((t) => header.test(t))).toEqual([]);
    // No raw markup either: HTML was reduced to text.
    expect(texts.filter((t) => /<\/?(html|body|table|td|font)\b/i.test(t))).toEqual([]);
  });

  it('rejects bad options with a named error', () => {
    expect(() => loadSpamAssassin({ labelledFraction: 0 })).toThrow(/--labelled-fraction must be in \(0, 1\]/);
    expect(() => stratifiedSplit([0, 1], [0.5, 0.6], 1)).toThrow(DistilleryDemoError);
  });
});

describe('loadUnlabelledSentences', () => {
  it('returns distinct, non-trivial sentences in a fixed order', () => {
    const a = loadUnlabelledSentences({ count: 500 });
    expect(a).toHaveLength(500);
    expect(new Set(a.map(dedupeKey)).size).toBe(500);
    expect(a.every((s) => s.split(' ').length >= 4)).toBe(true);
    expect(loadUnlabelledSentences({ count: 50 })).toEqual(a.slice(0, 50));
  });
});

describe('encodeSplit', () => {
  // A whitespace tokenizer padded to 8: enough to exercise batching and validation.
  const vocab = new Map<string, number>();
  const tokenize = (texts: string[]): Encoding => {
    const ids = texts.map((t) =>
      t.split(' ').slice(0, 8).map((w) => vocab.get(w) ?? (vocab.set(w, vocab.size + 1), vocab.size)),
    );
    return {
      inputIds: ids.map((r) => [...r, ...Array<number>(8 - r.length).fill(0)]),
      attentionMask: ids.map((r) => [...r.map(() => 1), ...Array<number>(8 - r.length).fill(0)]),
    };
  };

  it('tokenizes in batches, keeping order and labels', async () => {
    const texts = Array.from({ length: 10 }, (_v, i) => `text number ${i}`);
    const progress: number[] = [];
    const enc = await encodeSplit({ texts, labels: texts.map((_t, i) => i % 2) }, tokenize, { batchSize: 4, onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([4, 8, 10]);
    expect(enc.inputIds).toHaveLength(10);
    expect(enc.inputIds[3]?.slice(0, 3)).toEqual(tokenize(['text number 3']).inputIds[0]?.slice(0, 3));
    expect(enc.attentionMask[0]).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    expect(enc.labels).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('names a tokenizer whose rows do not line up', async () => {
    const ones = (t: string) => t.split(' ').map(() => 1);
    const ragged: Tokenize = (texts) => ({ inputIds: texts.map(ones), attentionMask: texts.map(ones) });
    const enc = await encodeTexts(['a b', 'a b c'], ragged); // rows of different lengths are fine: the collator pads
    expect(enc.inputIds.map((r) => r.length)).toEqual([2, 3]);
    const shortMask: Tokenize = (texts) => ({ inputIds: texts.map(ones), attentionMask: texts.map(() => [1, 1]) });
    await expect(encodeTexts(['a b', 'a b c d'], shortMask)).rejects.toThrow(/tokenize\(\): row 1 has 4 ids and 2 mask entries/);
  });

  it('turns an encoded split into trainer examples', () => {
    const examples = toExamples({ inputIds: [[101, 7, 102], [101, 102]], attentionMask: [[1, 1, 1], [1, 1]], labels: [1, 0] });
    expect(examples).toEqual([
      { inputIds: [101, 7, 102], attentionMask: [1, 1, 1], label: 1 },
      { inputIds: [101, 102], attentionMask: [1, 1], label: 0 },
    ]);
  });
});
