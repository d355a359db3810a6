/**
 * Students initialised from a teacher's weights (DistilBERT's recipe): names mapped between
 * BERT and DistilBERT, layers chosen every-other / first-k / explicitly, width mismatches refused.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoConfig, BertForMaskedLM, BertForSequenceClassification, DistilBertForMaskedLM, initFromTeacher, parseTeacherLayerSelection } from '@distillery/models';
import { initBackend } from '@distillery/trainer';

const bert = (layers: number, hidden = 16) => AutoConfig.forModel('bert', { vocabSize: 30, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 16 });
const distil = (layers: number, dim = 16) => AutoConfig.forModel('distilbert', { vocabSize: 30, dim, nLayers: layers, nHeads: 2, hiddenDim: 32, maxPositionEmbeddings: 16 });
const values = (v: tf.Variable | undefined): number[] => Array.from(v!.dataSync());

let teacher: BertForMaskedLM;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  teacher = new BertForMaskedLM(bert(4), 1);
});
afterAll(() => tf.disposeVariables());

describe('initFromTeacher', () => {
  it('a student as deep as its teacher, started first-k, computes what the teacher computes', () => {
    const student = new BertForMaskedLM(bert(4), 2);
    const report = initFromTeacher(student, teacher, 'first-k');
    expect(report.teacherLayers).toEqual([0, 1, 2, 3]);
    expect(report.fresh).toEqual([]);
    const inputIds = tf.tensor2d([[2, 7, 9, 11, 3]], undefined, 'int32');
    const [a, b] = [teacher, student].map((m) => tf.tidy(() => Array.from(m.forward({ inputIds }).logits.dataSync())));
    expect(b).toEqual(a);
  });

  it('BERT → DistilBERT every-other: maps the layer names, drops token types and pooler, copies the LM head', () => {
    const student = new DistilBertForMaskedLM(distil(2), 3);
    const report = initFromTeacher(student, teacher);
    expect(report.teacherLayers).toEqual([0, 2]);
    const s = student.namedParameters();
    const t = teacher.namedParameters();
    expect(values(s.get('distilbert.transformer.layer.1.attention.q_lin.weight'))).toEqual(values(t.get('bert.encoder.layer.2.attention.self.query.weight')));
    expect(values(s.get('distilbert.transformer.layer.0.ffn.lin2.bias'))).toEqual(values(t.get('bert.encoder.layer.0.output.dense.bias')));
    expect(values(s.get('vocab_transform.weight'))).toEqual(values(t.get('cls.predictions.transform.dense.weight')));
    expect(values(s.get('vocab_projector.bias'))).toEqual(values(t.get('cls.predictions.bias')));
    expect(report.copied.some(([, from]) => from.includes('token_type'))).toBe(false);
    expect(report.fresh).toEqual([]);
  });

  it('explicit layers into a classifier: the head stays fresh, the pooler comes from a teacher that has one', () => {
    const clsTeacher = new BertForSequenceClassification(bert(4), 4);
    const student = new BertForSequenceClassification(bert(2), 5);
    const report = initFromTeacher(student, clsTeacher, parseTeacherLayerSelection('layers=3,1'));
    expect(report.teacherLayers).toEqual([3, 1]);
    expect(report.fresh).toEqual(['classifier.weight', 'classifier.bias']);
    expect(values(student.namedParameters().get('bert.encoder.layer.0.output.LayerNorm.weight'))).toEqual(values(clsTeacher.namedParameters().get('bert.encoder.layer.3.output.LayerNorm.weight')));
    expect(values(student.namedParameters().get('bert.pooler.dense.weight'))).toEqual(values(clsTeacher.namedParameters().get('bert.pooler.dense.weight')));
  });

  it('refuses a narrower student, too few teacher layers, and a wrong layer list, saying how to fix it', () => {
    expect(() => initFromTeacher(new DistilBertForMaskedLM(distil(2, 8), 6), teacher)).toThrow(/the student is 8 wide and the teacher 16; copying layers needs equal hidden sizes\. Make the student's dim 16/);
    expect(() => initFromTeacher(new BertForMaskedLM(bert(3), 7), teacher, 'every-other')).toThrow(/"every-other": a 3-layer student needs teacher layers 0, 2, …, 4, but the teacher has 4/);
    expect(() => initFromTeacher(new BertForMaskedLM(bert(2), 8), teacher, [0, 1, 2])).toThrow(/layers=0,1,2 names 3 teacher layers but the student has 2/);
    expect(() => initFromTeacher(new BertForMaskedLM(bert(2), 8), teacher, [0, 4])).toThrow(/layer 4 is not a teacher layer \(0 … 3\)/);
    expect(() => parseTeacherLayerSelection('every_other')).toThrow(/use every-other, first-k or layers=0,2,4/);
  });
});
