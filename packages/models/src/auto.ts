/**
 * Auto classes: pick the model class from `config.json`, by `model_type` plus the task
 * (AutoModelFor...), or plus `architectures[0]` (`modelClassFor`, `createModel`).
 */
import { AlbertForMaskedLM, AlbertForQuestionAnswering, AlbertForSequenceClassification, AlbertForTokenClassification, AlbertModel } from './albert.js';
import { BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, BertModel } from './bert.js';
import { createConfig, readConfig, type ConfigFor, type ModelConfig, type ModelType } from './config.js';
import { DistilBertForMaskedLM, DistilBertForQuestionAnswering, DistilBertForSequenceClassification, DistilBertForTokenClassification, DistilBertModel } from './distilbert.js';
import { ElectraForMaskedLM, ElectraForQuestionAnswering, ElectraForSequenceClassification, ElectraForTokenClassification, ElectraModel } from './electra.js';
import { DistilleryModelsError } from './errors.js';
import { resolveModelDir, type ResolveOptions } from './hub.js';
import type { FromPretrainedOptions } from './modeling.js';
import { RobertaForMaskedLM, RobertaForQuestionAnswering, RobertaForSequenceClassification, RobertaForTokenClassification, RobertaModel } from './roberta.js';
import type { BaseModel, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification } from './tasks.js';

export type Task = 'base' | 'sequenceClassification' | 'tokenClassification' | 'maskedLM' | 'questionAnswering';

/** The instance type each task produces, for any family. */
export interface TaskModel {
  base: BaseModel<ModelConfig>;
  sequenceClassification: ModelForSequenceClassification<ModelConfig>;
  tokenClassification: ModelForTokenClassification<ModelConfig>;
  maskedLM: ModelForMaskedLM<ModelConfig>;
  questionAnswering: ModelForQuestionAnswering<ModelConfig>;
}
export type AnyModel = TaskModel[Task];

type ModelClass<T> = {
  new (config: ModelConfig, seed?: number): T;
  fromPretrained(idOrPath: string, options?: FromPretrainedOptions): Promise<T>;
  fromConfig(config: ModelConfig, seed?: number): T;
};
type FamilyClasses = { [K in Task]: ModelClass<TaskModel[K]> };

export const MODEL_CLASSES = {
  bert: { base: BertModel, sequenceClassification: BertForSequenceClassification, tokenClassification: BertForTokenClassification, maskedLM: BertForMaskedLM, questionAnswering: BertForQuestionAnswering },
  roberta: { base: RobertaModel, sequenceClassification: RobertaForSequenceClassification, tokenClassification: RobertaForTokenClassification, maskedLM: RobertaForMaskedLM, questionAnswering: RobertaForQuestionAnswering },
  distilbert: { base: DistilBertModel, sequenceClassification: DistilBertForSequenceClassification, tokenClassification: DistilBertForTokenClassification, maskedLM: DistilBertForMaskedLM, questionAnswering: DistilBertForQuestionAnswering },
  albert: { base: AlbertModel, sequenceClassification: AlbertForSequenceClassification, tokenClassification: AlbertForTokenClassification, maskedLM: AlbertForMaskedLM, questionAnswering: AlbertForQuestionAnswering },
  electra: { base: ElectraModel, sequenceClassification: ElectraForSequenceClassification, tokenClassification: ElectraForTokenClassification, maskedLM: ElectraForMaskedLM, questionAnswering: ElectraForQuestionAnswering },
} as unknown as Record<ModelType, FamilyClasses>;

/** The task an HF architecture name stands for (`BertForMaskedLM` -> maskedLM), from the class table. */
function taskOfArchitecture(modelType: ModelType, architecture: string): Task | undefined {
  const classes = MODEL_CLASSES[modelType];
  return (Object.keys(classes) as Task[]).find((t) => classes[t].name === architecture);
}

/** The class for `config`: `task` when given, else `architectures[0]` (bare model when absent). */
export function modelClassFor(config: ModelConfig, task?: Task): ModelClass<AnyModel> {
  const classes = MODEL_CLASSES[config.modelType];
  if (task) return classes[task];
  const architecture = config.architectures?.[0];
  if (architecture === undefined) return classes.base;
  const found = taskOfArchitecture(config.modelType, architecture);
  if (found === undefined) {
    const known = Object.values(classes).map((c) => c.name).join(', ');
    throw new DistilleryModelsError('UNKNOWN_ARCHITECTURE', `config.json: architectures[0] "${architecture}" is not a ${config.modelType} class this port has (${known}); load it with the AutoModelFor... class for the task you want.`);
  }
  return classes[found];
}

/** A randomly initialised model (HF init, seeded) for `config`; class as in `modelClassFor`. */
export function createModel(config: ModelConfig, options: { task?: Task; seed?: number } = {}): AnyModel {
  const Cls = modelClassFor(config, options.task);
  return new Cls(config, options.seed ?? 0);
}

interface AutoModelClass<T> {
  fromPretrained(idOrPath: string, options?: FromPretrainedOptions): Promise<T>;
  fromConfig(config: ModelConfig, seed?: number): T;
}

function autoModel<K extends Task>(task: K): AutoModelClass<TaskModel[K]> {
  return {
    async fromPretrained(idOrPath, options = {}) {
      const dir = await resolveModelDir(idOrPath, { ...options.resolve, ...(options.store && { store: options.store }) });
      return MODEL_CLASSES[(await readConfig(dir, options.store)).modelType][task].fromPretrained(dir, options);
    },
    fromConfig: (config, seed = 0) => new MODEL_CLASSES[config.modelType][task](config, seed),
  };
}

export const AutoModel = autoModel('base');
export const AutoModelForSequenceClassification = autoModel('sequenceClassification');
export const AutoModelForTokenClassification = autoModel('tokenClassification');
export const AutoModelForMaskedLM = autoModel('maskedLM');
export const AutoModelForQuestionAnswering = autoModel('questionAnswering');

export const AutoConfig = {
  /** `config.json` of a local folder or hub id. */
  async fromPretrained(idOrPath: string, options: { resolve?: ResolveOptions } = {}): Promise<ModelConfig> {
    return readConfig(await resolveModelDir(idOrPath, options.resolve), options.resolve?.store);
  },
  /** HF defaults for `modelType`, with camelCase overrides. */
  forModel<T extends ModelType>(modelType: T, overrides: Partial<Omit<ConfigFor<T>, 'modelType'>> = {}): ConfigFor<T> {
    return createConfig(modelType, overrides);
  },
};
