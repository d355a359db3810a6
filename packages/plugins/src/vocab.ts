/**
 * Teacher and student must share a vocabulary: the plugins compare outputs position by
 * position on the same token ids. Cross-tokenizer distillation is out of scope, so a
 * mismatch is reported up front instead of producing silently meaningless losses.
 */
import { DistilleryPluginsError } from './errors.js';

interface VocabConfig {
  vocabSize?: number;
  padTokenId?: number | null;
  modelType?: string;
}

export function checkVocab(student: { readonly config?: unknown }, teacher: { readonly config?: unknown }): void {
  const s = (student.config ?? {}) as VocabConfig;
  const t = (teacher.config ?? {}) as VocabConfig;
  if (s.vocabSize !== undefined && t.vocabSize !== undefined && s.vocabSize !== t.vocabSize) {
    throw new DistilleryPluginsError('VOCAB_MISMATCH', `teacher vocab_size ${t.vocabSize} (${t.modelType ?? 'model'}) differs from student vocab_size ${s.vocabSize} (${s.modelType ?? 'model'}): they use different tokenizers. Distillation across tokenizers is not supported; pick a student that shares the teacher's tokenizer (e.g. bert-base-uncased → distilbert-base-uncased).`);
  }
  if (s.padTokenId != null && t.padTokenId != null && s.padTokenId !== t.padTokenId) {
    throw new DistilleryPluginsError('VOCAB_MISMATCH', `teacher pad_token_id ${t.padTokenId} differs from student pad_token_id ${s.padTokenId}: the tokenizers differ. Distillation across tokenizers is not supported; use a student with the teacher's tokenizer.`);
  }
}
