/**
 * `PreTrainedModel`: what every model class shares. Parameters keyed by HF state-dict names,
 * loading them from a checkpoint with HF's key handling (buffers ignored, base-model prefix
 * added or stripped, tied decoder keys, LayerNorm gamma/beta), `savePretrained` writing
 * exactly HF's key set, and `fromPretrained`.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultFileStore, joinPath, readText, type FileStore } from '@distillery/storage';
import { configToJSON, readConfig, withOverrides, type Activation, type ModelConfig } from './config.js';
import { DistilleryModelsError, requirePathArgument } from './errors.js';
import { resolveModelDir, type ResolveOptions } from './hub.js';
import { prepareInputs, type BaseModelOutput, type EncoderInputs, type ForwardOptions, type ModelInputs } from './inputs.js';
import { ForwardContext, type LayerNorm, type Linear } from './layers.js';
import { ParameterStore, type ParamScope } from './params.js';
import { readWeights, serializeSafetensors, type TensorEntry } from './safetensors.js';
import type { OutputRequest } from './transformer.js';

/** Embeddings + encoder (+ pooler) of one family, registered under a prefix. */
export interface Backbone {
  /** The word-embedding table MLM decoders are tied to. */
  readonly wordEmbeddings: tf.Variable;
  readonly hiddenSize: number;
  forward(inputs: EncoderInputs, ctx: ForwardContext, want: OutputRequest): BaseModelOutput;
}

/**
 * What a sequence head computes, as data: exporters (ONNX) rebuild the same function from it.
 * `pooled`: `classifier(pooler_output)`; `firstToken`: `outProj(act(dense(h[:, 0])))`.
 */
export type SequenceHeadLayout = { kind: 'pooled'; classifier: Linear } | { kind: 'firstToken'; dense: Linear; act: Activation; outProj: Linear };
/** Sequence-classification head: reads the backbone output, returns logits [B, C]. */
export type SequenceHead = ((out: BaseModelOutput, ctx: ForwardContext) => tf.Tensor2D) & { readonly layout: SequenceHeadLayout };
/** The MLM head as data: `LN(act(dense(h))) @ decoderᵀ + bias`, the decoder tied to the word embeddings. */
export interface MaskedLMHeadLayout {
  dense: Linear;
  act: Activation;
  layerNorm: LayerNorm;
  decoder: tf.Variable;
  bias: tf.Variable;
}
/** MLM head: [N, H] -> logits [N, V]. */
export type MaskedLMHead = ((h: tf.Tensor2D, ctx: ForwardContext) => tf.Tensor2D) & { readonly layout: MaskedLMHeadLayout };

/** What the generic task classes need to know about a family. */
export interface Family<C extends ModelConfig> {
  modelType: C['modelType'];
  /** HF `base_model_prefix`. */
  prefix: string;
  /** Whether the bare model (AutoModel) has a pooler. */
  basePooler: boolean;
  /** Core weights (embeddings, encoder) under `prefix`; the pooler, when asked for, is not core. */
  backbone(store: ParameterStore, prefix: string, config: C, pooler: boolean): Backbone;
  sequenceClassification: { pooler: boolean; head(scope: ParamScope, config: C): SequenceHead };
  maskedLM(scope: ParamScope, config: C, wordEmbeddings: tf.Variable): MaskedLMHead;
  /** Dropout before the token-classification / QA linear. */
  tokenClassifierDropout(config: C): number;
  qaDropout(config: C): number;
}

export interface LoadingInfo {
  missingKeys: string[];
  unexpectedKeys: string[];
  /** Keys skipped because of `ignoreMismatchedSizes` (the parameter keeps its fresh init). */
  mismatchedKeys: string[];
}

/** Where a model folder is read or written. */
export interface StoreOptions {
  /** Default: the file system in Node, the Origin Private File System in a browser bundle. */
  store?: FileStore;
}

export interface LoadOptions {
  /** Accept missing embedding/encoder weights (they keep their random init). Task heads may always be missing. */
  allowMissing?: boolean;
  /** Re-initialise, instead of refusing, weights whose shape differs (e.g. a new num_labels). */
  ignoreMismatchedSizes?: boolean;
}

export interface FromPretrainedOptions<C extends ModelConfig = ModelConfig> extends LoadOptions, StoreOptions {
  /** camelCase config overrides, e.g. `{ hiddenDropoutProb: 0 }`. */
  config?: Partial<Omit<C, 'modelType'>>;
  /** Shorthand for `config.numLabels` (LABEL_i names are generated). */
  numLabels?: number;
  /** Seed for weights the checkpoint lacks (a new head). */
  seed?: number;
  resolve?: ResolveOptions;
  /** Where the missing/unexpected key report goes (default console.warn; false = silent). */
  log?: boolean | ((line: string) => void);
}

/** Non-persistent buffers some checkpoints still carry. */
const BUFFER_SUFFIXES = ['.position_ids', '.token_type_ids'];

export abstract class PreTrainedModel<C extends ModelConfig = ModelConfig, I extends ModelInputs = ModelInputs, O = unknown> {
  readonly config: C;
  /** Filled by `fromPretrained`/`loadStateDict`, as HF's `output_loading_info`. */
  loadingInfo?: LoadingInfo;
  protected readonly store: ParameterStore;

  protected constructor(
    readonly family: Family<C>,
    config: C,
    seed: number,
  ) {
    if (typeof config !== 'object' || config === null) {
      throw new DistilleryModelsError('CONFIG_INVALID', `${new.target.name}: expects a model config (createConfig('${family.modelType}', {...}) or loadConfig(dir)), got ${config === null ? 'null' : typeof config}.`);
    }
    if (config.modelType !== family.modelType) {
      throw new DistilleryModelsError('CONFIG_INVALID', `config.json: model_type "${config.modelType}" cannot build ${new.target.name} (needs "${family.modelType}"); use the Auto classes to pick the class from the config.`);
    }
    this.config = config;
    this.store = new ParameterStore(seed, config.initializerRange);
  }

  abstract forward(inputs: I, options?: ForwardOptions): O;

  /** Validate inputs and run the backbone; callers own the tidy. */
  protected encode(backbone: Backbone, inputs: ModelInputs, options: ForwardOptions): { out: BaseModelOutput; ctx: ForwardContext } {
    const typeVocab = 'typeVocabSize' in this.config ? this.config.typeVocabSize : 0;
    const ctx = new ForwardContext(options.training ?? false, options.seed);
    return { out: backbone.forward(prepareInputs(inputs, this.config.vocabSize, typeVocab), ctx, options), ctx };
  }

  /** Trainable parameters by exact HF state-dict name; tied weights appear once. */
  namedParameters(): Map<string, tf.Variable> {
    return new Map(this.store.params);
  }

  /**
   * Copy checkpoint tensors into the parameters, by HF name. Missing task-head weights keep
   * their init; missing core weights are an error unless `allowMissing`; a shape mismatch is an
   * error naming the key and both shapes (unless `ignoreMismatchedSizes`).
   */
  loadStateDict(tensors: Map<string, Pick<TensorEntry, 'shape' | 'data'>>, options: LoadOptions & { source?: string } = {}): LoadingInfo {
    const source = options.source ?? 'state dict';
    const params = this.store.params;
    const prefix = `${this.family.prefix}.`;
    const modelPrefixed = [...params.keys()].some((k) => k.startsWith(prefix));
    const ckptPrefixed = [...tensors.keys()].some((k) => k.startsWith(prefix));
    const unexpectedKeys: string[] = [];
    const mismatchedKeys: string[] = [];
    const incoming = new Map<string, Pick<TensorEntry, 'shape' | 'data'>>();
    for (const [raw, t] of tensors) {
      if (BUFFER_SUFFIXES.some((s) => raw.endsWith(s))) continue;
      let key = raw.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
      // HF moves between bare and task models by adding or stripping base_model_prefix.
      if (!modelPrefixed && ckptPrefixed) {
        if (!key.startsWith(prefix)) { unexpectedKeys.push(raw); continue; }
        key = key.slice(prefix.length);
      } else if (modelPrefixed && !ckptPrefixed && params.has(prefix + key)) {
        key = prefix + key;
      }
      incoming.set(key, t);
    }
    const loaded = new Set<string>();
    const assign = (name: string, t: Pick<TensorEntry, 'shape' | 'data'>): void => {
      const v = params.get(name)!;
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        if (options.ignoreMismatchedSizes) { mismatchedKeys.push(name); return; }
        throw new DistilleryModelsError('WEIGHT_SHAPE_MISMATCH', `${source}: "${name}" has shape [${t.shape.join(', ')}] but the model expects [${v.shape.join(', ')}]; the config does not match the weights (pass ignoreMismatchedSizes to re-initialise it, e.g. for a new num_labels).`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
      loaded.add(name);
    };
    for (const [key, t] of incoming) {
      if (params.has(key)) { assign(key, t); continue; }
      const target = this.store.aliases.get(key);
      if (target === undefined) { unexpectedKeys.push(key); continue; }
      // A tied copy (e.g. cls.predictions.decoder.*): used only when its canonical key is absent.
      if (!incoming.has(target)) assign(target, t);
    }
    const missingKeys = [...params.keys()].filter((k) => !loaded.has(k) && !mismatchedKeys.includes(k));
    const missingCore = missingKeys.filter((k) => this.store.core.has(k));
    if (missingCore.length > 0 && !options.allowMissing) {
      const list = missingCore.slice(0, 12).join(', ') + (missingCore.length > 12 ? `, ... (${missingCore.length} in all)` : '');
      throw new DistilleryModelsError('MISSING_KEYS', `${source}: lacks ${missingCore.length} weight(s) ${this.constructor.name} needs: ${list}. Check that the checkpoint is a ${this.family.modelType} model of this size, or pass allowMissing to keep them randomly initialised.`);
    }
    this.loadingInfo = { missingKeys, unexpectedKeys, mismatchedKeys };
    return this.loadingInfo;
  }

  /**
   * Write `config.json` + `model.safetensors` as HF's save_pretrained does, each atomically, into
   * `dir` of `options.store` (default: the file system in Node, OPFS in a browser).
   */
  async savePretrained(dir: string, options: StoreOptions = {}): Promise<void> {
    requirePathArgument(dir, `${this.constructor.name}.savePretrained`);
    const store = options.store ?? defaultFileStore();
    try {
      await store.mkdir(dir);
    } catch (cause) {
      throw new DistilleryModelsError('WRITE_FAILED', `${dir}: could not create the folder in ${store.where} (${(cause as Error).message}); check the path and its permissions.`, { cause });
    }
    await refuseForeignConfig(dir, store);
    // `await data()`: parameters may live on a GPU, where a synchronous read throws in Node.
    const tensors = new Map(await Promise.all([...this.store.params].map(async ([name, v]) => [name, { shape: v.shape, data: (await v.data()) as Float32Array }] as const)));
    const config = configToJSON({ ...this.config, architectures: [this.constructor.name] });
    // Weights first: a folder with config.json is taken as complete.
    await writeAtomic(joinPath(dir, 'model.safetensors'), serializeSafetensors(tensors), store);
    await writeAtomic(joinPath(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, store);
  }

  /** Restore all parameters in place from a `savePretrained` folder; every key must be present. */
  async loadWeights(dir: string, options: StoreOptions = {}): Promise<void> {
    const file = joinPath(dir, 'model.safetensors');
    const info = this.loadStateDict((await readWeights(file, options.store)).tensors, { source: file });
    if (info.missingKeys.length > 0 || info.unexpectedKeys.length > 0) {
      throw new DistilleryModelsError('MISSING_KEYS', `${file}: does not match ${this.constructor.name} (missing: ${info.missingKeys.join(', ') || 'none'}; unexpected: ${info.unexpectedKeys.join(', ') || 'none'}); it was saved from another architecture.`);
    }
  }

  dispose(): void {
    for (const v of this.store.params.values()) v.dispose();
    this.store.params.clear();
  }

  /** A randomly initialised model (HF init, seeded by `seed`). */
  static fromConfig<T extends PreTrainedModel<ModelConfig, never, unknown>>(this: new (config: never, seed?: number) => T, config: ModelConfig, seed = 0): T {
    return new this(config as never, seed);
  }

  /**
   * Load a local folder or hub id. Weights the checkpoint lacks for a task head are freshly
   * initialised and reported (as HF warns); see `LoadOptions` for the rest.
   */
  static async fromPretrained<T extends PreTrainedModel<ModelConfig, never, unknown>>(
    this: new (config: never, seed?: number) => T,
    idOrPath: string,
    options: FromPretrainedOptions = {},
  ): Promise<T> {
    const store = options.store ?? defaultFileStore();
    const dir = await resolveModelDir(idOrPath, { ...options.resolve, store });
    let config = await readConfig(dir, store);
    const overrides = { ...options.config, ...(options.numLabels !== undefined ? { numLabels: options.numLabels } : {}) };
    if (Object.keys(overrides).length > 0) config = withOverrides(config, overrides);
    const model = new this(config as never, options.seed ?? 0);
    const file = joinPath(dir, 'model.safetensors');
    try {
      const info = model.loadStateDict((await readWeights(file, store)).tensors, { ...options, source: file });
      reportLoading(model.constructor.name, file, info, options.log ?? true);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }
}

function reportLoading(cls: string, file: string, info: LoadingInfo, log: boolean | ((line: string) => void)): void {
  if (log === false) return;
  const say = typeof log === 'function' ? log : console.warn;
  if (info.missingKeys.length > 0) say(`[distillery] ${cls}: weights not in ${file}, newly initialized: ${info.missingKeys.join(', ')}. Train the model before using it for predictions.`);
  if (info.unexpectedKeys.length > 0) say(`[distillery] ${cls}: ${file} has weights this class does not use: ${info.unexpectedKeys.join(', ')}.`);
  if (info.mismatchedKeys.length > 0) say(`[distillery] ${cls}: re-initialized weights with mismatched shapes: ${info.mismatchedKeys.join(', ')}.`);
}

/**
 * A config.json in the target folder that is not a model's (a project's settings, another tool's)
 * is the user's: savePretrained refuses instead of replacing it and the weights beside it.
 */
async function refuseForeignConfig(dir: string, store: FileStore): Promise<void> {
  const file = joinPath(dir, 'config.json');
  const kind = (await store.stat(file))?.kind;
  if (kind === undefined) return;
  let modelType: unknown;
  if (kind === 'file') {
    try {
      modelType = (JSON.parse(await readText(store, file)) as { model_type?: unknown } | null)?.model_type;
    } catch {
      modelType = undefined;
    }
  }
  if (typeof modelType !== 'string') {
    throw new DistilleryModelsError('OUTPUT_PATH_INVALID', `${store.absolute(file)}: already exists and is not a model config (${kind === 'directory' ? 'a folder' : 'no "model_type"'}); savePretrained would replace it and write weights beside it. Save into a new or empty folder, or one a model was saved to.`);
  }
}

/** Write `path` atomically through `store` (a reader never sees half a file); a failure names the path. */
export async function writeAtomic(path: string, data: Uint8Array | string, store: FileStore = defaultFileStore()): Promise<void> {
  try {
    await store.writeFile(path, data);
  } catch (cause) {
    throw new DistilleryModelsError('WRITE_FAILED', `${path}: could not write to ${store.where} (${(cause as Error).message}); check free space and permissions of the folder.`, { cause });
  }
}

/** hiddenStates / attentions / attentionScores of a backbone output, only those present. */
export function encoderExtras(out: BaseModelOutput): Pick<BaseModelOutput, 'hiddenStates' | 'attentions' | 'attentionScores'> {
  return {
    ...(out.hiddenStates ? { hiddenStates: out.hiddenStates } : {}),
    ...(out.attentions ? { attentions: out.attentions } : {}),
    ...(out.attentionScores ? { attentionScores: out.attentionScores } : {}),
  };
}
