/**
 * The task readers tokenize as HF does, checked against transformers.js on a RoBERTa-style
 * byte-level BPE tokenizer and the real bert-base-uncased WordPiece vocabulary:
 * - token classification: `is_split_into_words=True` — for byte-level BPE every word, the first
 *   too, gets the leading space (`ĠJohn`), as HF's RoBERTa tokenizers with `add_prefix_space=True`;
 * - question answering: question and context tokenized whole (the context's first word without
 *   `Ġ`), context offsets as `return_offsets_mapping` with `trim_offsets`, no token types for RoBERTa;
 * - masked LM: texts tokenized whole.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AutoConfig, AutoTokenizer, RobertaForQuestionAnswering, bertBaseUncasedVocab, writeWordPieceTokenizer } from '@distillery/models';
import { DataCollatorForQuestionAnswering, initBackend, languageModelingExamples, questionAnsweringFeatures, tokenClassificationExamples, type SquadExample } from '@distillery/trainer';
import { writeByteLevelBpeTokenizer } from '../helpers/byte-level-bpe.js';
import { tempDir } from '../helpers/tmp.js';

type HfTokenizer = ((text: string | string[], options?: Record<string, unknown>) => { input_ids: number[] | number[][]; token_type_ids?: unknown }) & {
  decode(ids: number[], options?: Record<string, unknown>): string;
};

const WORDS = [' John', ' lives', ' in', ' New', ' York', 'Where', ' does', ' he', ' live', ' unbeliev', 'able', ' the', ' city', ' is', ' big', ' café', 'John', 'New'];
let roberta: AutoTokenizer;
let bert: AutoTokenizer;
let hfRoberta: HfTokenizer;
let hfBert: HfTokenizer;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  const tmp = tempDir('distillery-task-tok-');
  const robertaDir = writeByteLevelBpeTokenizer(join(tmp, 'roberta'), WORDS);
  const bertDir = writeWordPieceTokenizer(bertBaseUncasedVocab(), join(tmp, 'bert'));
  [roberta, bert] = await Promise.all([AutoTokenizer.fromPretrained(robertaDir), AutoTokenizer.fromPretrained(bertDir)]);
  const { AutoTokenizer: HF } = await import('@huggingface/transformers');
  [hfRoberta, hfBert] = (await Promise.all([HF.from_pretrained(robertaDir, { local_files_only: true }), HF.from_pretrained(bertDir, { local_files_only: true })])) as unknown as [HfTokenizer, HfTokenizer];
});

const ids = (hf: HfTokenizer, text: string, pair?: string): number[] => hf(text, { ...(pair !== undefined && { text_pair: pair }), return_tensor: false }).input_ids as number[];

describe('token classification: is_split_into_words', () => {
  const rows = [
    { tokens: ['John', 'lives', 'in', 'New', 'York', '.'], tags: ['B-PER', 'O', 'O', 'B-LOC', 'I-LOC', 'O'] },
    { tokens: ['unbelievable', 'café', 'U.S.', "don't", '🙂'], tags: ['O', 'O', 'B-LOC', 'O', 'O'] },
  ];
  const labelList = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

  it('RoBERTa: every word, the first too, starts with the space marker (HF add_prefix_space=True)', () => {
    const examples = tokenClassificationExamples(rows, roberta, { labelList, maxLength: 64 });
    rows.forEach((row, i) => {
      // Pre-split words with no whitespace inside: HF's per-word tokens are those of " w1 w2 …".
      expect(examples[i]!.inputIds).toEqual(ids(hfRoberta, ` ${row.tokens.join(' ')}`));
    });
    const first = examples[0]!.inputIds[1]!;
    expect(roberta.decode([first])).toBe(' John');
    expect(first).not.toBe(ids(hfRoberta, 'John')[1]); // the word-by-word reading of old had `John`
    // Labels on each word's first sub-token (" unbeliev" + "able"; the emoji: Ġ + its 4 bytes).
    const pieces = roberta.tokenizeWords(rows[1]!.tokens).map((w) => w.length);
    expect(pieces[0]).toBe(2);
    expect(pieces[4]).toBe(5);
    expect(examples[1]!.labels).toEqual([-100, ...pieces.flatMap((n, w) => [[0, 0, 3, 0, 0][w]!, ...Array<number>(n - 1).fill(-100)]), -100]);
  });

  it('BERT WordPiece: the ids of the words joined, no marker', () => {
    const examples = tokenClassificationExamples(rows, bert, { labelList, maxLength: 64 });
    rows.forEach((row, i) => expect(examples[i]!.inputIds).toEqual(ids(hfBert, row.tokens.join(' '))));
  });
});

describe('question answering: whole texts and offsets mapping', () => {
  const context = 'John lives in New York.  The city is big, unbelievable café 🙂 York!\nJohn is big.';
  const example: SquadExample = { id: 'q', question: '  Where does John live?', context, answers: [{ text: 'New York', answerStart: context.indexOf('New York') }] };

  /**
   * HF's trimmed offsets, independently: each token's decoded text found in order in the context;
   * a token of spaces alone ends up empty at their end (HF's trim_offsets rule);
   * 'partial' for a token that is part of a character (a byte of 🙂) or [UNK].
   */
  function referenceOffsets(hf: HfTokenizer, contextIds: number[]): Array<[number, number] | 'partial'> {
    // Uncased BERT reads "café" as "cafe": compare on the context lowercased, accents dropped (lengths kept).
    const fold = (t: string) => [...t].map((c) => c.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()).join('');
    const folded = fold(context);
    let cursor = 0;
    return contextIds.map((id) => {
      const raw = hf.decode([id]);
      // trim_offsets drops spaces only; a newline token keeps its character.
      const text = raw.replace(/^ +| +$/g, '').replace(/^##/, '');
      if (text.includes('\uFFFD') || text === '[UNK]') return 'partial';
      if (text === '') {
        cursor += raw.length;
        return [cursor, cursor];
      }
      const start = folded.indexOf(fold(text), cursor);
      cursor = start + text.length;
      return [start, start + text.length];
    });
  }

  for (const name of ['roberta', 'bert'] as const) {
    it(`${name}: one window holds HF's pair ids, its offsets and the answer span`, () => {
      const [tok, hf] = name === 'roberta' ? [roberta, hfRoberta] : [bert, hfBert];
      const [feature, ...more] = questionAnsweringFeatures([example], tok, { maxLength: 128, docStride: 32 });
      expect(more).toHaveLength(0);
      expect(feature!.inputIds).toEqual(ids(hf, example.question.trimStart(), context));
      const contextIds = feature!.inputIds.filter((_, i) => feature!.offsets[i] !== null);
      const reference = referenceOffsets(hf, contextIds);
      const offsets = feature!.offsets.filter((o) => o !== null);
      offsets.forEach((o, i) => {
        const r = reference[i]!;
        // A byte token of a split character spans the whole character (🙂 is two code units).
        expect(o).toEqual(r === 'partial' ? [context.indexOf('🙂'), context.indexOf('🙂') + 2] : r);
      });
      expect(context.slice(feature!.offsets[feature!.startPosition]![0], feature!.offsets[feature!.endPosition]![1])).toBe('New York');
      // RoBERTa has one token type: HF passes none, so no 1s for the context.
      expect(new Set(feature!.tokenTypeIds)).toEqual(new Set(name === 'roberta' ? [0] : [0, 1]));
    });
  }

  it('RoBERTa: a RobertaForQuestionAnswering (one token type, pad 1) takes the collated features and gives a finite loss', () => {
    const features = questionAnsweringFeatures([example], roberta, { maxLength: 24, docStride: 4 });
    const model = new RobertaForQuestionAnswering(AutoConfig.forModel('roberta', { vocabSize: roberta.vocabSize, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 40, typeVocabSize: 1, padTokenId: 1 }), 3);
    const batch = new DataCollatorForQuestionAnswering({ padTokenId: roberta.padTokenId! }).collate(features);
    const loss = tf.tidy(() => model.forward(batch).loss!.dataSync()[0]!);
    expect(Number.isFinite(loss)).toBe(true);
    tf.dispose(batch as unknown as tf.TensorContainer);
    model.dispose();
  });

  it('RoBERTa: strided windows keep HF tokens; answers found in every window that holds them', () => {
    const features = questionAnsweringFeatures([example], roberta, { maxLength: 24, docStride: 4 });
    expect(features.length).toBeGreaterThan(1);
    const full = ids(hfRoberta, context).slice(1, -1);
    const seen = features.flatMap((f, w) => f.inputIds.filter((_, i) => f.offsets[i] !== null).slice(w === 0 ? 0 : 4));
    expect(seen).toEqual(full);
    const holding = features.filter((f) => f.startPosition > 0);
    expect(holding.length).toBeGreaterThan(0);
    for (const f of holding) expect(context.slice(f.offsets[f.startPosition]![0], f.offsets[f.endPosition]![1])).toBe('New York');
  });
});

describe('masked LM: texts tokenized whole', () => {
  it('RoBERTa and BERT blocks hold HF ids', () => {
    const text = 'John lives in New York. The city is big!';
    for (const [tok, hf] of [[roberta, hfRoberta], [bert, hfBert]] as const) {
      const [block] = languageModelingExamples([text], tok, { maxLength: 64 });
      expect(block!.inputIds).toEqual(ids(hf, text));
    }
  });
});

describe('tokenizeWithOffsets', () => {
  it('spaces, tabs and newlines: RoBERTa keeps whitespace tokens (spaces trimmed to empty spans, a tab or newline its character), BERT drops them', () => {
    const text = 'John  lives\tin\n New York ';
    const r = roberta.tokenizeWithOffsets(text);
    expect(r.tokens).toEqual(roberta.tokenize(text));
    expect(r.tokens.map((t, i) => [t, text.slice(...r.offsets[i]!)])).toEqual([
      ['John', 'John'], ['Ġ', ''], ['Ġlives', 'lives'], ['ĉ', '\t'], ['i', 'i'], ['n', 'n'], ['Ċ', '\n'], ['ĠNew', 'New'], ['ĠYork', 'York'], ['Ġ', ''],
    ]);
    // The empty spans sit at the end of their whitespace, as HF's trim_offsets leaves them.
    expect(r.offsets[1]).toEqual([5, 5]);
    const b = bert.tokenizeWithOffsets(text);
    expect(b.tokens.map((t, i) => [t, text.slice(...b.offsets[i]!)])).toEqual([['john', 'John'], ['lives', 'lives'], ['in', 'in'], ['new', 'New'], ['york', 'York']]);
  });

  it('WordPiece pieces get their own characters; an [UNK] word its whole span', () => {
    const text = 'Unaffable ☃x';
    const b = bert.tokenizeWithOffsets(text);
    expect(b.tokens.map((t, i) => [t, text.slice(...b.offsets[i]!)])).toEqual([['una', 'Una'], ['##ffa', 'ffa'], ['##ble', 'ble'], ...b.tokens.slice(3).map((t) => [t, '☃x'])]);
  });
});
