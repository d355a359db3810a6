/** `pnpm demo` flags: parsed with node's parseArgs, validated with messages that name the flag. */
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendName } from '@distillery/backends';
import { DistilleryDemoError } from './errors.js';

export interface DemoOptions {
  /** `sequence-classification` (spam filtering, the default) or `masked-lm` (general distillation on nlp-corpus). */
  task: 'sequence-classification' | 'masked-lm';
  /** Smaller models, shorter texts, fewer steps: the whole run in about two minutes. */
  quick: boolean;
  seed: number;
  /** Fraction of the training set whose labels the students see (default 0.05: 235 emails, where the gap shows). */
  labelledFraction: number;
  /** A saved teacher (folder or hub id) instead of training/reusing the cached one. */
  teacher?: string;
  /** Also write the numbers as JSON here. */
  json?: string;
  /** Where the distilled student and the report go. */
  outDir: string;
  /** Where the trained teacher is cached between runs. */
  cacheDir: string;
  /** Compute backend; default: initBackend's automatic choice (or DISTILLERY_BACKEND). */
  backend?: BackendName;
  help: boolean;
}

export const DEMO_USAGE = `Usage: pnpm demo [options]

Trains a BERT teacher on SpamAssassin (cached and reused), then a small student on a labelled
fraction alone and distilled from the teacher; prints the comparison, saves the distilled student
(HF format) and an HTML report. Runs offline.

Options:
  --task masked-lm           instead: general distillation of a masked LM on nlp-corpus sentences, a
                             student initialised from the teacher's layers vs a random one (perplexity)
  --quick                    short run (~2 min): smaller models, shorter texts, fewer steps
  --seed N                   seed for the labelled subset, initialisation and shuffling (default 42)
  --labelled-fraction F      fraction of train labels the students see, in (0, 1] (default 0.05)
  --teacher DIR|HUB_ID       use this fine-tuned BertForSequenceClassification as the teacher
  --json FILE                also write the results (accuracy, f1, params, encoder params, ms/example) as JSON
  --out DIR                  output folder for the student and report (default runs/demo)
  --cache DIR                teacher cache folder (default .cache/demo)
  --backend NAME             ${BACKEND_NAMES.join('|')} (default: the fastest available; webgpu: see README, GPU)
  -h, --help                 show this help
`;

function number(flag: string, raw: string | undefined, fallback: number, check: (n: number) => boolean, want: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !check(n)) throw new DistilleryDemoError('OPTION_INVALID', `--${flag} must be ${want}, got "${raw}"; see pnpm demo --help`);
  return n;
}

function backendName(raw: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(raw)) throw new DistilleryDemoError('OPTION_INVALID', `--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${raw}"; see pnpm demo --help`);
  return raw as BackendName;
}

export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        task: { type: 'string' },
        quick: { type: 'boolean', default: false },
        seed: { type: 'string' },
        'labelled-fraction': { type: 'string' },
        teacher: { type: 'string' },
        json: { type: 'string' },
        out: { type: 'string' },
        cache: { type: 'string' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (cause) {
    throw new DistilleryDemoError('OPTION_INVALID', `${(cause as Error).message}; see pnpm demo --help`, { cause });
  }
  const task = values.task ?? 'sequence-classification';
  if (task !== 'sequence-classification' && task !== 'masked-lm') throw new DistilleryDemoError('OPTION_INVALID', `--task must be sequence-classification or masked-lm, got "${task}"; see pnpm demo --help`);
  return {
    task,
    quick: values.quick ?? false,
    seed: number('seed', values.seed, 42, (n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer'),
    labelledFraction: number('labelled-fraction', values['labelled-fraction'], 0.05, (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    ...(values.teacher !== undefined && { teacher: values.teacher }),
    ...(values.json !== undefined && { json: values.json }),
    outDir: values.out ?? 'runs/demo',
    cacheDir: values.cache ?? '.cache/demo',
    ...(values.backend !== undefined && { backend: backendName(values.backend) }),
    help: values.help ?? false,
  };
}
