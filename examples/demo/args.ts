/** `pnpm demo` flags: parsed with node's parseArgs, validated with messages that name the flag. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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

/** What is at `path`: 'file', 'folder', or undefined; a path under a file is reported as that file. */
function whatIsAt(path: string): { kind: 'file' | 'folder'; at: string } | undefined {
  for (let p = resolve(path); ; p = dirname(p)) {
    // ENOTDIR (a path under a file) reads as "nothing here": the walk up finds the file.
    const stat = existsSync(p) ? statSync(p) : undefined;
    if (stat) return stat.isDirectory() ? (p === resolve(path) ? { kind: 'folder', at: p } : undefined) : { kind: 'file', at: p };
    if (dirname(p) === p) return undefined;
  }
}

/**
 * The demo's destinations, checked before any data is read or model trained (a full run takes
 * minutes): `--out` and `--cache` are folders, `--json` a file (its own earlier report is
 * replaced, nothing else), and `--teacher`, when a path, exists.
 */
export function checkDemoPaths(options: DemoOptions): void {
  const refuse = (message: string): never => {
    throw new DistilleryDemoError('OPTION_INVALID', `${message}; see pnpm demo --help`);
  };
  for (const [flag, dir] of [['out', options.outDir], ['cache', options.cacheDir]] as const) {
    const found = whatIsAt(dir);
    if (found?.kind === 'file') refuse(`--${flag} ${dir}: ${found.at === resolve(dir) ? 'is a file' : `lies under ${found.at}, which is a file`}; name a folder`);
  }
  if (options.json !== undefined) {
    const found = whatIsAt(options.json);
    if (found?.kind === 'folder') refuse(`--json ${options.json}: is a folder; name a file such as results.json`);
    if (found?.kind === 'file' && found.at !== resolve(options.json)) refuse(`--json ${options.json}: lies under ${found.at}, which is a file`);
    if (found?.kind === 'file' && !isDemoReport(found.at)) refuse(`--json ${options.json}: already exists and is not a report of this demo; name a new file`);
  }
  if (options.teacher !== undefined && /^[./~]|^[A-Za-z]:/.test(options.teacher) && !existsSync(options.teacher)) refuse(`--teacher ${options.teacher}: does not exist; name a saved model folder (config.json + model.safetensors) or a hub id`);
}

function isDemoReport(file: string): boolean {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return typeof json === 'object' && json !== null && 'settings' in json && 'studentDistilled' in json;
  } catch {
    return false;
  }
}
