/**
 * `DistillationTrainer extends Trainer`: the seed's `DistillationTrainer`, generalised to any set
 * of loss plugins collected from a per-trainer child container (`@injectAll(LOSS_PLUGIN)`).
 *
 * Teacher outputs are produced by the data collator, which the Trainer calls before it opens
 * the gradient tape: the frozen teacher's forward is never taped, and its variables are never
 * in a variable list. Plugin projections are registered as trainable extras, so the Trainer
 * optimises them and saves and restores them with every checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { container as rootContainer, injectable, injectAll, type DependencyContainer } from 'tsyringe';
import {
  DataCollatorWithPadding, Trainer,
  type ComputeLossOptions, type ComputeLossResult, type DataCollator, type Example, type ModelInputs, type TrainableModel, type TrainerOptions,
} from '@distillery/trainer';
import { DistilleryPluginsError } from './errors.js';
import { DistillationObjective, requireLossPlugins, requireTeachers, type DistillationOptions, type DistillModel } from './objective.js';
import { LOSS_PLUGIN, type DistillOutputs, type LossPlugin, type Progress } from './plugin.js';

/** A collated batch plus the teachers' outputs for it. */
export type DistillInputs = ModelInputs & { teacherOutputs?: DistillOutputs[] };

export type StudentOutputs = DistillOutputs & { loss?: tf.Scalar };

/** Every plugin registered under `LOSS_PLUGIN` in the trainer's container. */
@injectable()
export class LossPluginSet {
  constructor(@injectAll(LOSS_PLUGIN) readonly plugins: LossPlugin[]) {}
}

/** Wraps the batch collator: collate, then run the teachers outside any tape. */
class TeacherOutputsCollator<E> implements DataCollator<E, DistillInputs> {
  constructor(
    private readonly base: DataCollator<E, ModelInputs>,
    private readonly objective: DistillationObjective,
    private readonly progress: () => Progress,
  ) {}

  collate(examples: readonly E[]): DistillInputs {
    const inputs = this.base.collate(examples);
    const texts = (examples as readonly { text?: unknown }[]).map((e) => e.text);
    const pairs = (examples as readonly { textPair?: unknown }[]).map((e) => (typeof e.textPair === 'string' ? e.textPair : undefined));
    const withTexts = texts.every((t): t is string => typeof t === 'string') ? { ...inputs, texts, ...(pairs.some((p) => p !== undefined) && { textPairs: pairs }) } : inputs;
    // The Trainer disposes the whole inputs container after the step, teacher outputs included.
    return { ...inputs, teacherOutputs: this.objective.teacherOutputs(withTexts, this.progress()) };
  }

  // The wrapped collator's random state (masked LM's masks) goes into checkpoints through this one.
  state(): unknown {
    return this.base.state?.();
  }

  loadState(state: unknown): void {
    this.base.loadState?.(state);
  }
}

export interface DistillationTrainerOptions<E> extends Omit<TrainerOptions<E, DistillInputs, StudentOutputs>, 'model' | 'dataCollator' | 'computeLossFunc'> {
  model: DistillModel & TrainableModel<DistillInputs, StudentOutputs>;
  /** One frozen teacher, or several whose soft labels are averaged (see `distillation.teacherWeights`). */
  teacher: DistillModel | readonly DistillModel[];
  /** Plugins for this trainer, added to those registered under `LOSS_PLUGIN` in `container`. */
  plugins?: readonly LossPlugin[];
  /** Parent container; the trainer works in a child of it. Default: tsyringe's root container. */
  container?: DependencyContainer;
  /** Batch collator before the teacher step. Default `DataCollatorWithPadding`. */
  dataCollator?: DataCollator<E, ModelInputs>;
  distillation?: DistillationOptions;
}

export class DistillationTrainer<E extends Example = Example> extends Trainer<E, DistillInputs, StudentOutputs> {
  readonly objective: DistillationObjective;
  /** This trainer's child container (plugins registered under `LOSS_PLUGIN`). */
  readonly container: DependencyContainer;
  /** Kept term values of the current step, read (and freed) at step end. */
  private pendingTerms: Array<[string, tf.Scalar]> = [];
  /**
   * True between this trainer's own onStepBegin and onStepEnd: only then is a step-end drain
   * coming, so only then may computeLoss keep term tensors past the caller's tidy. A hand-written
   * loop borrowing computeLoss gets its terms freed by its own tidy instead of leaking them.
   */
  private inOwnStep = false;
  /** Term sums since the last training log. */
  private termSums = new Map<string, { sum: number; count: number }>();

  constructor(options: DistillationTrainerOptions<E>) {
    checkParts(options);
    const parent = options.container ?? rootContainer;
    const child = parent.createChildContainer();
    // A child's registrations hide its parent's, so re-register the parent's plugins next to ours.
    const inherited = parent.isRegistered(LOSS_PLUGIN, true) ? parent.resolveAll(LOSS_PLUGIN) : [];
    for (const plugin of [...inherited, ...(options.plugins ?? [])]) child.register(LOSS_PLUGIN, { useValue: plugin });
    if (!child.isRegistered(LOSS_PLUGIN, true)) {
      throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', 'DistillationTrainer: no loss plugin; pass plugins: [new LogitKdPlugin(), ...] or register one under LOSS_PLUGIN in options.container.');
    }
    const teachers = Array.isArray(options.teacher) ? options.teacher : [options.teacher as DistillModel];
    if (teachers.includes(options.model)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', 'DistillationTrainer: the teacher is the student model itself; pass a separate (frozen) teacher instance.');
    const objective = new DistillationObjective(child.resolve(LossPluginSet).plugins, teachers, options.distillation);
    objective.setup(options.model);

    const numLabels = (options.model as { config?: { numLabels?: number } }).config?.numLabels;
    const base = options.dataCollator ?? (new DataCollatorWithPadding(numLabels === 1 ? { labelDtype: 'float32' } : {}) as unknown as DataCollator<E, ModelInputs>);
    const self: { trainer?: DistillationTrainer<E> } = {};
    super({ ...options, dataCollator: new TeacherOutputsCollator(base, objective, () => self.trainer!.progress()) });
    self.trainer = this;
    this.objective = objective;
    this.container = child;
    this.registerTrainableVariables(objective.variables());
    this.addCallback({
      name: 'DistillationTermsCallback',
      onStepBegin: () => {
        this.inOwnStep = true;
      },
      onStepEnd: () => {
        this.inOwnStep = false;
        return this.drainTerms();
      },
    });
  }

  /** Where the run is, for plugin schedules. */
  progress(): Progress {
    return { step: this.state.globalStep, maxSteps: Math.max(this.state.maxSteps, 1) };
  }

  /** `Σ weight · term` of the plugins; inside the tape only the student runs. */
  protected override computeLoss(model: TrainableModel<DistillInputs, StudentOutputs>, inputs: DistillInputs, options: ComputeLossOptions): ComputeLossResult<StudentOutputs> {
    const { teacherOutputs, ...batch } = inputs;
    if (teacherOutputs === undefined) {
      throw new DistilleryPluginsError('OUTPUT_MISSING', 'DistillationTrainer.computeLoss: the batch carries no teacherOutputs; batches must come from the trainer\'s own collator (pass your collator as options.dataCollator, it is wrapped).');
    }
    const forward = { training: options.training, ...(options.seed !== undefined && { seed: options.seed }) };
    const result = this.objective.compute(model as unknown as DistillModel, batch, teacherOutputs, this.progress(), forward);
    if (options.training && this.inOwnStep) for (const [name, value] of result.terms) this.pendingTerms.push([name, tf.keep(value)]);
    return options.returnOutputs ? { loss: result.loss, outputs: result.student } : result.loss;
  }

  private async drainTerms(): Promise<void> {
    const pending = this.pendingTerms;
    this.pendingTerms = [];
    const values = await Promise.all(pending.map(([, t]) => t.data()));
    // A plugin may report its total as a part too (same tensor): free each once.
    tf.dispose([...new Set(pending.map(([, t]) => t))]);
    pending.forEach(([name], i) => {
      const s = this.termSums.get(name) ?? { sum: 0, count: 0 };
      this.termSums.set(name, { sum: s.sum + values[i]![0]!, count: s.count + 1 });
    });
  }

  /** Training logs (those with `loss`) also carry each term's mean since the previous one. */
  override async log(logs: Record<string, number>): Promise<void> {
    if (!('loss' in logs) || this.termSums.size === 0) return super.log(logs);
    const terms = Object.fromEntries([...this.termSums].map(([name, s]) => [name, s.sum / s.count]));
    this.termSums.clear();
    return super.log({ ...logs, ...terms });
  }
}

/**
 * The parts an outside caller most often gets wrong, refused by name before anything is built:
 * the teacher (a model, a teacher cache, or a list of them) and each plugin (a LossPlugin object).
 */
function checkParts(options: DistillationTrainerOptions<Example>): void {
  if (typeof options !== 'object' || options === null) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `DistillationTrainer: expects an options object { model, teacher, plugins, args, trainDataset }, got ${options === null ? 'null' : typeof options}.`);
  if (Array.isArray(options.teacher) && options.teacher.length === 0) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', 'DistillationTrainer: options.teacher is an empty list; pass at least one teacher model.');
  requireTeachers(options.teacher, 'DistillationTrainer: options.teacher');
  if (options.plugins !== undefined) requireLossPlugins(options.plugins, 'DistillationTrainer: options.plugins');
}
