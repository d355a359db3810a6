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

/** The API's way across tokenizers; the CLI passes its flag instead. */
const WRAP_FIX = 'Pick a student that shares the teacher\'s tokenizer (e.g. bert-base-uncased → distilbert-base-uncased), or wrap the teacher as new CrossTokenizerTeacher(teacher, teacherTokenizer) for sequence-level plugins (logitKd) on examples that keep their text.';

export function checkVocab(student: { readonly config?: unknown }, teacher: { readonly config?: unknown }, fix = WRAP_FIX): void {
  const s = (student.config ?? {}) as VocabConfig;
  const t = (teacher.config ?? {}) as VocabConfig;
  if (s.vocabSize !== undefined && t.vocabSize !== undefined && s.vocabSize !== t.vocabSize) {
    throw new DistilleryPluginsError('VOCAB_MISMATCH', `teacher vocab_size ${t.vocabSize} (${t.modelType ?? 'model'}) differs from student vocab_size ${s.vocabSize} (${s.modelType ?? 'model'}): they use different tokenizers. ${fix}`);
  }
  if (s.padTokenId != null && t.padTokenId != null && s.padTokenId !== t.padTokenId) {
    throw new DistilleryPluginsError('VOCAB_MISMATCH', `teacher pad_token_id ${t.padTokenId} differs from student pad_token_id ${s.padTokenId}: the tokenizers differ. ${fix}`);
  }
}
