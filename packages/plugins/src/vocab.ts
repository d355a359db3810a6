/**
 * Teacher and student must share a vocabulary: the plugins compare outputs position by
 * position on the same token ids. A teacher with another tokenizer is wrapped in a
 * `CrossTokenizerTeacher` (sequence-level plugins only); otherwise a mismatch is reported up
 * front instead of producing silently meaningless losses.
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
    throw new DistilleryPluginsError('VOCAB_MISMATCH', `teacher vocab_size ${t.vocabSize} (${t.modelType ?? 'model'}) differs from student vocab_size ${s.vocabSize} (${s.modelType ?? 'model'}): they use different tokenizers. Pick a student that shares the teacher's tokenizer (e.g. bert-base-uncased → distilbert-base-uncased), or wrap the teacher as new CrossTokenizerTeacher(teacher, teacherTokenizer) for sequence-level plugins (logitKd) on examples that keep their text.`);
  }
  if (s.padTokenId != null && t.padTokenId != null && s.padTokenId !== t.padTokenId) {
    throw new DistilleryPluginsError('VOCAB_MISMATCH', `teacher pad_token_id ${t.padTokenId} differs from student pad_token_id ${s.padTokenId}: the tokenizers differ. Use a student with the teacher's tokenizer, or wrap the teacher in CrossTokenizerTeacher (sequence-level plugins only).`);
  }
}
