/**
 * When logits are distilled, teacher and student must share a label set: soft labels are
 * compared class index by class index, so a different count fails in the loss and a different
 * order trains the student towards the wrong classes without any error. Checked up front.
 */
import { DistilleryPluginsError } from './errors.js';

interface LabelConfig {
  numLabels?: number;
  id2label?: Record<number, string>;
}

/** HF's placeholder names (`LABEL_3`): a freshly initialised head, which may take any meaning. */
const PLACEHOLDER = /^LABEL_\d+$/;

export function checkLabels(student: { readonly config?: unknown }, teacher: { readonly config?: unknown }): void {
  const s = (student.config ?? {}) as LabelConfig;
  const t = (teacher.config ?? {}) as LabelConfig;
  if (s.numLabels !== undefined && t.numLabels !== undefined && s.numLabels !== t.numLabels) {
    throw new DistilleryPluginsError('LABELS_MISMATCH', `teacher num_labels ${t.numLabels} differs from student num_labels ${s.numLabels}: logit distillation compares class by class. Give the student the teacher's label set (e.g. fromPretrained(student, { numLabels: ${t.numLabels} })), or distil without logit plugins.`);
  }
  for (let i = 0; i < (t.numLabels ?? 0); i++) {
    const [tn, sn] = [t.id2label?.[i], s.id2label?.[i]];
    if (tn !== undefined && sn !== undefined && tn !== sn && !PLACEHOLDER.test(tn) && !PLACEHOLDER.test(sn)) {
      throw new DistilleryPluginsError('LABELS_MISMATCH', `id2label[${i}] is "${tn}" for the teacher but "${sn}" for the student: the same class index means different labels. Copy the teacher's id2label into the student's config.json (same order).`);
    }
  }
}
