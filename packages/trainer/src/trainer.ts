/**
 * The HF-style Trainer: train / evaluate / predict around a `TrainableModel`, with the
 * `computeLoss` override point, callbacks + events, AdamW, schedules, gradient accumulation
 * normalised by items, a NaN/Inf guard, atomic checkpoints and exact resume.
 */
import * as tf from '@tensorflow/tfjs';
import { DefaultFlowCallback } from './callbacks/default-flow.js';
import { CallbackHandler, type CallbackContext, type HookName, type TrainerCallback } from './callbacks/handler.js';
import { JsonlLoggerCallback } from './callbacks/jsonl-logger.js';
import { ProgressCallback } from './callbacks/progress.js';
import { TensorBoardCallback } from './callbacks/tensorboard.js';
import { defaultFileStore, joinPath, type FileStore } from '@distillery/storage';
import { cleanStaleCheckpointTemps, latestCheckpoint, readCheckpoint, readTrainerVariables, rotateCheckpoints, writeCheckpoint } from './checkpoint.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';
import { DataCollatorWithPadding, type DataCollator, type ModelInputs } from './data/collator.js';
import { DataLoader, type RawBatch } from './data/dataloader.js';
import { checkDatasetKind, countItems, exampleLabel, isIndexedDataset, validateDataset, type Dataset, type Example } from './data/dataset.js';
import { mixSeed } from './data/rng.js';
import { DistilleryTrainerError } from './errors.js';
import { nonFiniteNames } from './finite.js';
import type { EvalPrediction } from './metrics.js';
import type { ModelStoreOptions, TrainableModel } from './model.js';
import { AdamW, type Optimizer } from './optimizer.js';
import { LrScheduler, resolveWarmupSteps } from './schedules.js';
import { createTrainerControl, createTrainerState, type TrainerControl, type TrainerState } from './state.js';
import { TrainingArguments, type TrainingArgumentsInit } from './training-args.js';

export interface ComputeLossOptions {
  returnOutputs: boolean;
  /** Items (labelled tokens, or examples) in the whole accumulation window this micro-batch belongs to. */
  numItemsInBatch: number;
  /** Forward in training mode (dropout on). */
  training: boolean;
  /** Dropout seed for this micro-step; pass it to every forward whose dropout should replay on resume. */
  seed?: number;
}

export type ComputeLossResult<O> = tf.Scalar | { loss: tf.Scalar; outputs: O };

/** HF's compute_loss_func: the loss from the model outputs (labels are not passed to the model). */
export type ComputeLossFunc<O> = (outputs: O, labels: tf.Tensor | undefined, numItemsInBatch: number) => tf.Scalar;

export interface TrainerOptions<E, I, O> {
  model: TrainableModel<I, O & { loss?: tf.Scalar }>;
  args: TrainingArguments | TrainingArgumentsInit;
  trainDataset?: Dataset<E>;
  evalDataset?: Dataset<E>;
  /** Default: DataCollatorWithPadding (float32 labels when the model has numLabels 1). */
  dataCollator?: DataCollator<E, I>;
  computeMetrics?: (prediction: EvalPrediction) => Record<string, number>;
  callbacks?: readonly TrainerCallback[];
  computeLossFunc?: ComputeLossFunc<O>;
  /** Replace the AdamW built from args, and/or the schedule built at train start. */
  optimizers?: { optimizer?: Optimizer; lrScheduler?: LrScheduler };
  /** JSON that defines the run beyond `args` (e.g. the CLI config), saved in every checkpoint as run_config.json. */
  runConfig?: Record<string, unknown>;
  /** HF's processing_class: the tokenizer `saveModel` writes next to the model. */
  processingClass?: { savePretrained(dir: string, options?: ModelStoreOptions): Promise<void> | void };
  /** Where checkpoints, saveModel and the jsonl/tensorboard reports go (default: the file system in Node, OPFS in a browser). */
  store?: FileStore;
}

export interface TrainOutput {
  globalStep: number;
  /** Mean training loss over the steps run in this call. */
  trainingLoss: number;
  metrics: Record<string, number>;
}

export interface PredictionOutput {
  predictions: EvalPrediction['predictions'];
  labelIds: EvalPrediction['labelIds'];
  metrics: Record<string, number>;
}

/** Per-step result the loop uses for logging. */
interface StepResult {
  loss: number;
  gradNorm: number;
  learningRate: number;
  skipped: boolean;
}

export class Trainer<E extends Example = Example, I = ModelInputs, O extends { logits?: tf.Tensor } = { logits: tf.Tensor; loss?: tf.Scalar }> {
  readonly args: TrainingArguments;
  readonly model: TrainableModel<I, O & { loss?: tf.Scalar }>;
  readonly optimizer: Optimizer;
  lrScheduler: LrScheduler | undefined;
  state: TrainerState;
  readonly control: TrainerControl = createTrainerControl();
  trainDataset: Dataset<E> | undefined;
  evalDataset: Dataset<E> | undefined;
  readonly dataCollator: DataCollator<E, I>;
  protected readonly callbackHandler: CallbackHandler;
  private readonly computeMetrics: TrainerOptions<E, I, O>['computeMetrics'];
  private readonly computeLossFunc: ComputeLossFunc<O> | undefined;
  private readonly runConfig: Record<string, unknown> | undefined;
  private readonly processingClass: TrainerOptions<E, I, O>['processingClass'];
  private readonly store: FileStore;
  private readonly extraVariables = new Map<string, tf.Variable>();
  private trainLoader: DataLoader<E> | undefined;
  /** Set when an evaluation beat the best metric; the next save records its folder as the best. */
  private newBest = false;
  private readonly initialized: Promise<void>;
  /** Set while train() runs. */
  private training = false;

  constructor(options: TrainerOptions<E, I, O>) {
    if (typeof options !== 'object' || options === null) throw new DistilleryTrainerError('ARGS_INVALID', `Trainer: expects an options object { model, args, trainDataset, ... }, got ${options === null ? 'null' : typeof options}.`);
    if (options.args === undefined) throw new DistilleryTrainerError('ARGS_INVALID', 'Trainer: options.args is required: a TrainingArguments or its fields, e.g. { outputDir: "runs/exp1" }.');
    this.args = options.args instanceof TrainingArguments ? options.args : new TrainingArguments(options.args);
    this.model = options.model;
    if (typeof this.model?.forward !== 'function' || typeof this.model.namedParameters !== 'function') {
      throw new DistilleryTrainerError('MODEL_INVALID', 'Trainer: options.model must have forward(inputs, options) and namedParameters() (see TrainableModel).');
    }
    this.trainDataset = options.trainDataset;
    this.evalDataset = options.evalDataset;
    if (this.args.evalStrategy !== 'no' && !this.evalDataset) {
      throw new DistilleryTrainerError('ARGS_INVALID', `TrainingArguments.evalStrategy is "${this.args.evalStrategy}" but no evalDataset was given; pass evalDataset or set evalStrategy: "no".`);
    }
    const numLabels = this.model.config?.numLabels;
    this.dataCollator = options.dataCollator ?? (new DataCollatorWithPadding(numLabels === 1 ? { labelDtype: 'float32' } : {}) as unknown as DataCollator<E, I>);
    this.computeMetrics = options.computeMetrics;
    this.computeLossFunc = options.computeLossFunc;
    this.runConfig = options.runConfig;
    this.processingClass = options.processingClass;
    this.store = options.store ?? defaultFileStore();
    const a = this.args;
    this.optimizer = options.optimizers?.optimizer ?? new AdamW({ beta1: a.adamBeta1, beta2: a.adamBeta2, epsilon: a.adamEpsilon, weightDecay: a.weightDecay });
    this.lrScheduler = options.optimizers?.lrScheduler;
    const defaults: TrainerCallback[] = [new DefaultFlowCallback()];
    if (!a.disableTqdm) defaults.push(new ProgressCallback());
    if (a.reportTo.includes('jsonl')) defaults.push(new JsonlLoggerCallback(undefined, this.store));
    if (a.reportTo.includes('tensorboard')) defaults.push(new TensorBoardCallback(this.store));
    this.callbackHandler = new CallbackHandler([...defaults, ...(options.callbacks ?? [])]);
    this.state = createTrainerState({ maxSteps: 0, numTrainEpochs: a.numTrainEpochs, loggingSteps: a.loggingSteps, evalSteps: a.evalSteps, saveSteps: a.saveSteps, trainBatchSize: a.perDeviceTrainBatchSize });
    // onInitEnd may be async; public methods await it, and a rejection surfaces there, not as an unhandled one.
    this.initialized = this.callHook('onInitEnd');
    this.initialized.catch(() => undefined);
  }

  /** Typed events mirroring every hook: `trainer.events.on('log', ({ logs }) => ...)`. */
  get events(): CallbackHandler['events'] {
    return this.callbackHandler.events;
  }

  addCallback(callback: TrainerCallback): void {
    this.callbackHandler.add(callback);
  }

  removeCallback(callback: TrainerCallback): void {
    this.callbackHandler.remove(callback);
  }

  /**
   * For subclasses: train extra variables along with the model (e.g. a distillation projector).
   * They are optimised with the model, weight-decayed by the same name rule, and checkpointed.
   */
  protected registerTrainableVariables(variables: ReadonlyMap<string, tf.Variable> | Record<string, tf.Variable>): void {
    const modelNames = this.model.namedParameters();
    for (const [name, v] of variables instanceof Map ? variables : Object.entries(variables)) {
      if (modelNames.has(name) || this.extraVariables.has(name)) {
        throw new DistilleryTrainerError('MODEL_INVALID', `registerTrainableVariables: "${name}" is already a trainable variable name; prefix it, e.g. "projector.${name}".`);
      }
      this.extraVariables.set(name, v);
    }
  }

  /** Exactly the variables training updates: the model's trainable parameters plus registered extras. */
  trainableVariables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, v] of this.model.namedParameters()) if (v.trainable) out.set(name, v);
    for (const [name, v] of this.extraVariables) if (v.trainable) out.set(name, v);
    return out;
  }

  /**
   * The loss to minimise for one micro-batch, as the mean over its items (the trainer weights it by
   * its share of `numItemsInBatch`). Runs inside the gradient tape: synchronous, tf ops only.
   * Default: the model's own loss, or `computeLossFunc(outputs, labels, numItemsInBatch)`.
   */
  protected computeLoss(model: TrainableModel<I, O & { loss?: tf.Scalar }>, inputs: I, options: ComputeLossOptions): ComputeLossResult<O> {
    const forward = { training: options.training, ...(options.seed !== undefined && { seed: options.seed }) };
    let outputs: O & { loss?: tf.Scalar };
    let loss: tf.Scalar | undefined;
    if (this.computeLossFunc) {
      const { labels, ...rest } = inputs as I & { labels?: tf.Tensor };
      outputs = model.forward(rest as I, forward);
      loss = this.computeLossFunc(outputs, labels, options.numItemsInBatch);
    } else {
      outputs = model.forward(inputs, forward);
      loss = outputs.loss;
    }
    if (!loss) {
      throw new DistilleryTrainerError('MODEL_INVALID', 'computeLoss: the model returned no loss (its inputs have no labels, or it computes none); add label/labels to the examples, pass computeLossFunc, or override computeLoss.');
    }
    return options.returnOutputs ? { loss, outputs } : loss;
  }

  async train(options: { resumeFromCheckpoint?: boolean | string } = {}): Promise<TrainOutput> {
    // Two loops over one model, optimizer and state would interleave their updates.
    const resume = options.resumeFromCheckpoint;
    if (resume !== undefined && typeof resume !== 'boolean' && (typeof resume !== 'string' || resume === '')) throw new DistilleryTrainerError('ARGS_INVALID', `Trainer.train: resumeFromCheckpoint must be true (the newest checkpoint in outputDir), false, or a checkpoint-<step> folder path, got ${JSON.stringify(resume)}.`);
    if (this.training) throw new DistilleryTrainerError('TRAINER_BUSY', 'Trainer.train: already running on this trainer; await the first call before calling train() again (or use another Trainer).');
    this.training = true;
    try {
      await this.initialized;
      return await this.innerTrain(options.resumeFromCheckpoint);
    } catch (error) {
      await this.callHook('onException', { error });
      throw error;
    } finally {
      this.training = false;
    }
  }

  private async innerTrain(resumeFromCheckpoint: boolean | string | undefined): Promise<TrainOutput> {
    const args = this.args;
    if (!this.trainDataset) throw new DistilleryTrainerError('ARGS_INVALID', 'Trainer.train: no trainDataset; pass it to the Trainer constructor.');
    this.checkDataset(this.trainDataset, 'trainDataset');
    const loader = new DataLoader(this.trainDataset, {
      batchSize: args.perDeviceTrainBatchSize,
      shuffle: true,
      groupByLength: args.groupByLength,
      dropLast: args.dataloaderDropLast,
      seed: args.seed,
      name: 'trainDataset',
      ...this.exampleLimits(),
    });
    this.trainLoader = loader;
    const batchesPerEpoch = loader.numBatches;
    if (batchesPerEpoch === 0) throw new DistilleryTrainerError('DATASET_INVALID', `trainDataset has fewer examples than perDeviceTrainBatchSize (${args.perDeviceTrainBatchSize}) and dataloaderDropLast is on; lower the batch size or turn dataloaderDropLast off.`);
    const ga = args.gradientAccumulationSteps;
    // A short last window still makes an update (its loss is normalised by its own item count).
    const updatesPerEpoch = batchesPerEpoch === undefined ? undefined : Math.ceil(batchesPerEpoch / ga);
    let maxSteps = args.maxSteps;
    if (maxSteps <= 0) {
      if (updatesPerEpoch === undefined) throw new DistilleryTrainerError('ARGS_INVALID', 'TrainingArguments.maxSteps is required when trainDataset is an async iterable (its length is unknown); set e.g. maxSteps: 1000.');
      maxSteps = Math.ceil(args.numTrainEpochs * updatesPerEpoch);
    }
    const numTrainEpochs = updatesPerEpoch === undefined ? args.numTrainEpochs : Math.ceil(maxSteps / updatesPerEpoch);
    this.state = createTrainerState({ maxSteps, numTrainEpochs, loggingSteps: args.loggingSteps, evalSteps: args.evalSteps, saveSteps: args.saveSteps, trainBatchSize: args.perDeviceTrainBatchSize });
    this.lrScheduler ??= new LrScheduler(args.lrSchedulerType, args.learningRate, resolveWarmupSteps(args.warmupSteps, args.warmupRatio, maxSteps), maxSteps);
    // A run that never checkpoints touches no folder (so it also runs where there is no file system: the browser).
    if (args.saveStrategy !== 'no' || resumeFromCheckpoint) await cleanStaleCheckpointTemps(args.outputDir, this.store);
    if (resumeFromCheckpoint !== undefined && resumeFromCheckpoint !== false) {
      const dir = resumeFromCheckpoint === true ? await latestCheckpoint(args.outputDir, this.store) : resumeFromCheckpoint;
      if (dir === undefined) throw new DistilleryTrainerError('CHECKPOINT_MISSING', `resumeFromCheckpoint: true but ${args.outputDir} has no complete checkpoint-<step> folder; train without resuming, or pass a checkpoint path.`);
      await this.loadCheckpoint(dir, loader);
    }

    const params = this.trainableVariables();
    if (params.size === 0) throw new DistilleryTrainerError('MODEL_INVALID', 'Trainer.train: the model has no trainable variables; check namedParameters() and that not every variable is frozen.');
    const startStep = this.state.globalStep;
    const started = performance.now();
    // `taken` counts skipped steps too: a window of taken steps none of which updated is a failure.
    let sinceLog = { loss: 0, steps: 0, taken: 0 };
    let totalLoss = 0;
    let totalSteps = 0;
    let examplesSeen = 0;
    await this.callHook('onTrainBegin');
    // After onTrainBegin, which resets per-run counters: a resumed run continues the checkpoint's.
    this.callbackHandler.restoreStates(this.state.statefulCallbacks);
    while (this.state.globalStep < maxSteps && !this.control.shouldTrainingStop) {
      await this.callHook('onEpochBegin');
      const batches = loader.epoch();
      for (;;) {
        const window: RawBatch<E>[] = [];
        while (window.length < ga) {
          const next = await batches.next();
          if (next.done) break;
          window.push(next.value);
        }
        if (window.length === 0) break;
        const step = await this.trainingStep(window, params);
        examplesSeen += window.reduce((n, b) => n + b.examples.length, 0);
        sinceLog.taken += 1;
        if (!step.skipped) {
          sinceLog.loss += step.loss;
          sinceLog.steps += 1;
          totalLoss += step.loss;
          totalSteps += 1;
        }
        this.state.globalStep += 1;
        const pos = loader.state();
        this.state.epoch = batchesPerEpoch === undefined ? pos.epoch : pos.epoch + pos.batchIndex / batchesPerEpoch;
        await this.callHook('onStepEnd');
        const logs = { loss: sinceLog.steps > 0 ? sinceLog.loss / sinceLog.steps : NaN, grad_norm: step.gradNorm, learning_rate: step.learningRate };
        // A window ends at each log and at the last step: checked before that step's log and save.
        if (this.control.shouldLog || this.state.globalStep >= maxSteps) this.assertProgress(sinceLog);
        if (this.control.shouldLog) sinceLog = { loss: 0, steps: 0, taken: 0 };
        await this.maybeLogSaveEvaluate(logs);
        if (this.control.shouldEpochStop || this.control.shouldTrainingStop) {
          await batches.return(undefined);
          break;
        }
      }
      await this.callHook('onEpochEnd');
      const logs = { loss: sinceLog.steps > 0 ? sinceLog.loss / sinceLog.steps : NaN };
      if (this.control.shouldLog) {
        this.assertProgress(sinceLog);
        sinceLog = { loss: 0, steps: 0, taken: 0 };
      }
      await this.maybeLogSaveEvaluate(logs);
    }
    // The run's last steps count too: a run that ends diverged has not learned what it reports.
    this.assertProgress(sinceLog);

    if (args.loadBestModelAtEnd && this.state.bestModelCheckpoint) {
      const variables = await readTrainerVariables(this.state.bestModelCheckpoint, this.store);
      try {
        await this.loadWeightsFrom(this.state.bestModelCheckpoint, variables);
      } finally {
        tf.dispose([...variables.values()]);
      }
    }
    const runtime = (performance.now() - started) / 1000;
    const trainingLoss = totalSteps > 0 ? totalLoss / totalSteps : NaN;
    const metrics = {
      train_runtime: runtime,
      train_samples_per_second: examplesSeen / runtime,
      train_steps_per_second: (this.state.globalStep - startStep) / runtime,
      train_loss: trainingLoss,
    };
    await this.log(metrics);
    await this.callHook('onTrainEnd');
    return { globalStep: this.state.globalStep, trainingLoss, metrics };
  }

  /** One optimizer step over an accumulation window of raw batches (collated one at a time). */
  private async trainingStep(window: RawBatch<E>[], params: Map<string, tf.Variable>): Promise<StepResult> {
    const args = this.args;
    const stepNumber = this.state.globalStep + 1;
    const numItemsInBatch = Math.max(1, countItems(window.flatMap((b) => b.examples)));
    const varList = [...params.values()];
    const paramName = new Map([...params].map(([name, v]) => [v.name, name]));
    await this.callHook('onStepBegin');
    let grads = new Map<string, tf.Tensor>();
    let loss = 0;
    for (let m = 0; m < window.length; m++) {
      await this.callHook('onBeforeBackward');
      const examples = window[m]!.examples;
      const share = countItems(examples) / numItemsInBatch;
      // Dropout seed from (seed, step, micro-step): a resumed run replays the same masks.
      const seed = mixSeed(args.seed, this.state.globalStep, m);
      const inputs = this.dataCollator.collate(examples);
      const result = tf.tidy(() =>
        tf.variableGrads(() => {
          const out = this.computeLoss(this.model, inputs, { returnOutputs: false, numItemsInBatch, training: true, seed });
          return tf.mul(out instanceof tf.Tensor ? out : out.loss, share) as tf.Scalar;
        }, varList),
      );
      tf.dispose(inputs as tf.TensorContainer);
      loss += (await result.value.data())[0]!;
      result.value.dispose();
      grads = accumulate(grads, result.grads, paramName);
      if (m < window.length - 1) await this.callHook('onSubstepEnd');
    }

    const learningRate = this.lrScheduler!.lr();
    const normTensor = globalNorm(grads);
    const gradNorm = (await normTensor.data())[0]!;
    normTensor.dispose();
    const bad = !Number.isFinite(loss) ? 'loss' : !Number.isFinite(gradNorm) ? 'gradient norm' : undefined;
    let skipped = false;
    if (bad) {
      tf.dispose([...grads.values()]);
      const message = `step ${stepNumber}: non-finite ${bad} (loss=${loss}, grad_norm=${gradNorm})`;
      if (args.nanPolicy === 'abort') {
        throw new DistilleryTrainerError(bad === 'loss' ? 'NON_FINITE_LOSS' : 'NON_FINITE_GRADIENT', `${message}; training aborted (nanPolicy "abort"). Lower learningRate, check the inputs of this step, or set nanPolicy: "skip".`);
      }
      console.warn(`[distillery] ${message}; update skipped, weights unchanged (nanPolicy "skip").`);
      this.state.skippedSteps.push(stepNumber);
      skipped = true;
    } else {
      await this.callHook('onBeforeOptimizerStep');
      tf.tidy(() => {
        const clipped = args.maxGradNorm > 0 ? clipByGlobalNorm(grads, args.maxGradNorm, gradNorm) : grads;
        this.optimizer.step(params, clipped, learningRate);
      });
      tf.dispose([...grads.values()]);
      await this.callHook('onOptimizerStep');
    }
    // The schedule follows the step count, skipped steps included.
    this.lrScheduler!.step();
    return { loss, gradNorm, learningRate, skipped };
  }

  /**
   * Fail (NO_PROGRESS) when every step of a window was skipped as non-finite: nanPolicy "skip"
   * rides over a rare bad batch, not a run that learns nothing (a NaN teacher, a diverged model).
   * Thrown before the window's log and save, so the last good checkpoint is kept.
   */
  private assertProgress(window: { steps: number; taken: number }): void {
    if (window.taken === 0 || window.steps > 0) return;
    const last = this.state.globalStep;
    throw new DistilleryTrainerError('NO_PROGRESS', `every optimizer step from ${last - window.taken + 1} to ${last} had a non-finite loss or gradient and was skipped (nanPolicy "skip"); nothing was learned and nothing saved. Check the teacher/model weights and inputs, or lower learningRate.`);
  }

  private async maybeLogSaveEvaluate(logs: Record<string, number>): Promise<void> {
    if (this.control.shouldLog) await this.log({ ...logs, epoch: this.state.epoch });
    if (this.control.shouldEvaluate) this.updateBest(await this.evaluate());
    if (this.control.shouldSave) await this.saveCheckpoint();
  }

  private updateBest(metrics: Record<string, number>): void {
    const name = this.args.metricForBestModel;
    if (name === undefined) return;
    const key = name.startsWith('eval_') ? name : `eval_${name}`;
    const value = metrics[key];
    if (value === undefined) {
      throw new DistilleryTrainerError('ARGS_INVALID', `TrainingArguments.metricForBestModel "${name}": evaluation produced no "${key}" (it has ${Object.keys(metrics).join(', ')}); pick one of those or return it from computeMetrics.`);
    }
    const best = this.state.bestMetric;
    if (best === null || (this.args.greaterIsBetter ? value > best : value < best)) {
      this.state.bestMetric = value;
      this.state.bestGlobalStep = this.state.globalStep;
      this.newBest = true;
    }
  }

  /** Record logs in the history (with epoch and step) and call onLog. */
  async log(logs: Record<string, number>): Promise<void> {
    const entry = { ...logs, epoch: this.state.epoch, step: this.state.globalStep };
    this.state.logHistory.push(entry);
    await this.callHook('onLog', { logs: entry });
  }

  /**
   * HF's `save_model`: the model as an HF folder (config.json + model.safetensors), the
   * processing class's files (tokenizer) and training_args.json, into `dir` (default outputDir).
   */
  async saveModel(dir: string = this.args.outputDir): Promise<void> {
    await this.model.savePretrained(dir, { store: this.store });
    await this.processingClass?.savePretrained(dir, { store: this.store });
    const file = joinPath(dir, 'training_args.json');
    try {
      await this.store.writeFile(file, `${JSON.stringify(this.args.toJSON(), null, 2)}\n`);
    } catch (cause) {
      throw new DistilleryTrainerError('WRITE_FAILED', `could not write ${file} to ${this.store.where}: ${(cause as Error).message}; check free space and permissions of the folder.`, { cause });
    }
  }

  /** Write `outputDir/checkpoint-<globalStep>` atomically, rotate, call onSave. */
  async saveCheckpoint(): Promise<string> {
    const dir = joinPath(this.args.outputDir, `checkpoint-${this.state.globalStep}`);
    if (this.newBest) {
      this.state.bestModelCheckpoint = dir;
      this.newBest = false;
    }
    if (!this.trainLoader || !this.lrScheduler) throw new DistilleryTrainerError('ARGS_INVALID', 'saveCheckpoint: checkpoints hold the training position; call it during train() (e.g. from a callback setting control.shouldSave).');
    const nonFinite = await nonFiniteNames(this.trainableVariables());
    if (nonFinite.length > 0) throw new DistilleryTrainerError('NON_FINITE_WEIGHTS', `step ${this.state.globalStep}: ${nonFinite.length} weight tensor(s) hold NaN or Inf (first: ${nonFinite[0]}); ${dir} not written, the earlier checkpoints are kept. Lower learningRate or set nanPolicy: "abort" to stop at the first bad step.`);
    this.state.statefulCallbacks = this.callbackHandler.states();
    const written = await writeCheckpoint(this.args.outputDir, this.model, {
      trainerState: this.state,
      optimizer: this.optimizer.stateDict(),
      scheduler: this.lrScheduler.stateDict(),
      rng: { seed: this.args.seed, dataLoader: this.trainLoader.state(), ...(this.dataCollator.state && { collator: this.dataCollator.state() }) },
      variables: this.extraVariables,
      args: this.args.toJSON(),
      ...(this.runConfig && { runConfig: this.runConfig }),
    }, this.store);
    if (this.args.saveTotalLimit !== undefined) await rotateCheckpoints(this.args.outputDir, this.args.saveTotalLimit, this.state.bestModelCheckpoint, this.store);
    await this.callHook('onSave', { checkpointDir: written });
    return written;
  }

  private async loadCheckpoint(dir: string, loader: DataLoader<E>): Promise<void> {
    const data = await readCheckpoint(dir, this.store);
    try {
      // Everything is checked before anything is touched: a bad checkpoint leaves the model as it was.
      const s = data.trainerState;
      if (!Number.isInteger(s.globalStep) || !Array.isArray(s.logHistory) || (s.statefulCallbacks !== undefined && (typeof s.statefulCallbacks !== 'object' || s.statefulCallbacks === null))) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${dir}/trainer_state.json lacks globalStep/logHistory (or has a non-object statefulCallbacks); the checkpoint is corrupt, resume from another one.`);
      if (data.rng.seed !== this.args.seed) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${dir}/rng_state.json was written with seed ${data.rng.seed}, this run has seed ${this.args.seed}; resume with the same TrainingArguments.seed.`);
      this.lrScheduler!.checkStateDict(data.scheduler);
      try {
        this.optimizer.checkStateDict?.(data.optimizer, this.trainableVariables());
      } catch (e) {
        if (e instanceof DistilleryTrainerError) throw new DistilleryTrainerError(e.code, `${dir}/optimizer.bin: ${e.message}`, { cause: e });
        throw e;
      }
      await this.loadWeightsFrom(dir, data.variables);
      this.optimizer.loadStateDict(data.optimizer);
      this.lrScheduler!.loadStateDict(data.scheduler);
      try {
        loader.loadState(data.rng.dataLoader);
        if (data.rng.collator !== undefined) this.dataCollator.loadState?.(data.rng.collator);
      } catch (e) {
        // Their messages start "rng_state.json: …"; say which checkpoint holds it.
        if (e instanceof DistilleryTrainerError) throw new DistilleryTrainerError(e.code, `${dir}/${e.message}`, { cause: e });
        throw e;
      }
      if (data.rng.collator === undefined && this.dataCollator.state?.() !== undefined) console.warn(`[distillery] ${dir}/rng_state.json holds no collator state (written before it was saved); the resumed run draws fresh masks, not those an uninterrupted run would.`);
      const { maxSteps, numTrainEpochs, loggingSteps, evalSteps, saveSteps, trainBatchSize } = this.state;
      // Checkpoints from before statefulCallbacks existed restore no callback state.
      this.state = { ...s, skippedSteps: s.skippedSteps ?? [], statefulCallbacks: s.statefulCallbacks ?? {}, maxSteps, numTrainEpochs, loggingSteps, evalSteps, saveSteps, trainBatchSize };
    } finally {
      tf.dispose([...data.optimizer.tensors.values(), ...data.variables.values()]);
    }
  }

  /** Restore model weights (and registered extra variables) from a checkpoint folder. */
  private async loadWeightsFrom(dir: string, variables: ReadonlyMap<string, tf.Tensor>): Promise<void> {
    try {
      await this.model.loadWeights(dir, { store: this.store });
    } catch (cause) {
      throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${dir}: the model could not load its weights (${(cause as Error).message}); resume from another checkpoint.`, { cause });
    }
    for (const [name, v] of this.extraVariables) {
      const t = variables.get(name);
      if (!t || !tf.util.arraysEqual(t.shape, v.shape)) {
        throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${dir}/trainer_variables.json: "${name}" is ${t ? `shaped [${t.shape}] not [${v.shape}]` : 'missing'}; resume with the trainer (and projector sizes) that wrote it.`);
      }
      v.assign(t);
    }
  }

  /**
   * The model's label count and vocabulary, which examples are checked against: an in-memory
   * dataset up front (checkDataset), a streamed one example by example as its batches are read.
   */
  private exampleLimits(): { numLabels?: number; vocabSize?: number } {
    const config = this.model.config;
    return {
      ...(config?.numLabels !== undefined && { numLabels: config.numLabels }),
      ...(typeof config?.vocabSize === 'number' && { vocabSize: config.vocabSize }),
    };
  }

  /** The dataset's kind, and (when in memory) every example, against the model's label count and vocabulary. */
  private checkDataset(dataset: Dataset<E>, name: string): void {
    checkDatasetKind(dataset, name);
    const { numLabels, vocabSize } = this.exampleLimits();
    if (isIndexedDataset(dataset)) validateDataset(dataset, name, numLabels, vocabSize);
  }

  /** Evaluate on `evalDataset` (or the one given): `${prefix}_loss` plus computeMetrics, logged. */
  async evaluate(evalDataset?: Dataset<E>, options: { metricKeyPrefix?: string } = {}): Promise<Record<string, number>> {
    await this.initialized;
    const dataset = evalDataset ?? this.evalDataset;
    if (!dataset) throw new DistilleryTrainerError('ARGS_INVALID', 'Trainer.evaluate: no evalDataset; pass one to the constructor or to evaluate().');
    const { metrics } = await this.predictionLoop(dataset, options.metricKeyPrefix ?? 'eval', this.computeMetrics !== undefined);
    metrics.epoch = this.state.epoch;
    await this.log(metrics);
    await this.callHook('onEvaluate', { metrics });
    return metrics;
  }

  /** Logits (and metrics when labels are present) for every example, in dataset order. */
  async predict(testDataset: Dataset<E>, options: { metricKeyPrefix?: string } = {}): Promise<PredictionOutput> {
    await this.initialized;
    const out = await this.predictionLoop(testDataset, options.metricKeyPrefix ?? 'test', true);
    await this.callHook('onPredict', { metrics: out.metrics });
    return out;
  }

  private async predictionLoop(dataset: Dataset<E>, prefix: string, keepPredictions: boolean): Promise<PredictionOutput> {
    this.checkDataset(dataset, `${prefix}Dataset`);
    const loader = new DataLoader(dataset, { batchSize: this.args.perDeviceEvalBatchSize, shuffle: false, name: `${prefix}Dataset`, ...this.exampleLimits() });
    const started = performance.now();
    const predictions: EvalPrediction['predictions'] = [];
    const labelIds: (number | readonly number[])[] = [];
    let lossSum = 0;
    let items = 0;
    let examples = 0;
    for await (const batch of loader.epoch()) {
      const labelled = batch.examples.every((e) => exampleLabel(e) !== undefined);
      const n = countItems(batch.examples);
      const inputs = this.dataCollator.collate(batch.examples);
      const { loss, logits } = tf.tidy(() => {
        if (!labelled) return { loss: undefined, logits: this.model.forward(inputs, { training: false }).logits };
        const r = this.computeLoss(this.model, inputs, { returnOutputs: true, numItemsInBatch: n, training: false });
        return r instanceof tf.Tensor ? { loss: r, logits: undefined } : { loss: r.loss, logits: r.outputs.logits };
      });
      tf.dispose(inputs as tf.TensorContainer);
      if (loss) {
        lossSum += (await loss.data())[0]! * n;
        items += n;
      }
      if (logits && keepPredictions) {
        const rows = (await logits.array()) as number[][] | number[][][];
        // Per-token logits are cut back to each example's own length (batches pad differently).
        rows.forEach((row, b) => predictions.push(logits.rank === 3 ? (row as number[][]).slice(0, batch.examples[b]!.inputIds.length) : (row as number[])));
      }
      if (labelled) labelIds.push(...batch.examples.map((e) => exampleLabel(e)!));
      examples += batch.examples.length;
      tf.dispose([loss, logits].filter((t): t is tf.Tensor => t !== undefined));
    }
    const runtime = (performance.now() - started) / 1000;
    const hasLabels = labelIds.length === examples;
    const metrics: Record<string, number> = {};
    if (items > 0) metrics[`${prefix}_loss`] = lossSum / items;
    if (this.computeMetrics && hasLabels && predictions.length === examples) {
      for (const [k, v] of Object.entries(this.computeMetrics({ predictions, labelIds }))) metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
    }
    metrics[`${prefix}_runtime`] = runtime;
    metrics[`${prefix}_samples_per_second`] = examples / runtime;
    return { predictions, labelIds: hasLabels ? labelIds : null, metrics };
  }

  private async callHook(hook: HookName, extra: Partial<CallbackContext> = {}): Promise<void> {
    const ctx: CallbackContext = { model: this.model, optimizer: this.optimizer, ...(this.lrScheduler && { lrScheduler: this.lrScheduler }), ...extra };
    await this.callbackHandler.call(hook, this.args, this.state, this.control, ctx);
  }
}

/** Add a micro-step's gradients (keyed by tf variable name) into the running sums (keyed by parameter name). */
function accumulate(sums: Map<string, tf.Tensor>, grads: tf.NamedTensorMap, paramName: ReadonlyMap<string, string>): Map<string, tf.Tensor> {
  for (const [varName, g] of Object.entries(grads)) {
    const name = paramName.get(varName)!;
    const prev = sums.get(name);
    if (prev) {
      sums.set(name, tf.add(prev, g));
      tf.dispose([prev, g]);
    } else sums.set(name, g);
  }
  return sums;
}
