/**
 * `distillery forward`: one forward (+ backward) pass of a model folder on an inputs.json, written
 * in the parity fixtures' expected.json shape. How a port is debugged and checked from outside.
 */
import type { Command } from 'commander';
import { forwardReport, loadConfig, modelClassFor, resolveModelDir, type InputsJson } from '@distillery/models';
import { DistilleryCliError } from './errors.js';
import { tokenLimits, type TokenLimits } from './models.js';
import { nonEmpty } from './flag-value.js';
import { checkOutputFile, writeFileAtomic } from './output-path.js';
import { readTextFile } from './text-file.js';

interface ForwardFlags {
  model: string;
  inputs: string;
  grads?: string;
  out: string;
}

const TOKEN_FIELDS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

function invalid(file: string, message: string, cause?: unknown): never {
  throw new DistilleryCliError('DATA_INVALID', `--inputs ${file}: ${message}`, { cause });
}

/**
 * inputs.json checked for shape before any model loads: `input_ids` a non-empty rectangular
 * [batch][seqLen] list of integer ids, the mask and token types the same shape, one label per row.
 */
function readInputs(file: string): InputsJson {
  let json: unknown;
  try {
    json = JSON.parse(readTextFile(file, { label: `--inputs ${file}`, hint: 'the path' }));
  } catch (cause) {
    if (cause instanceof DistilleryCliError) throw cause;
    invalid(file, `not valid JSON (${(cause as Error).message}); pass a file like the fixtures' inputs.json.`, cause);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) invalid(file, 'must hold an object {"input_ids": [[...], ...], "attention_mask"?: ..., "labels"?: ...}.');
  const o = json as Record<string, unknown>;
  const ids = o.input_ids;
  if (!Array.isArray(ids) || ids.length === 0) invalid(file, 'input_ids must be a non-empty list of rows of token ids ([batch][seqLen]).');
  const width = Array.isArray(ids[0]) ? ids[0].length : 0;
  for (const key of TOKEN_FIELDS) {
    const rows = o[key];
    if (rows === undefined || rows === null) continue;
    if (!Array.isArray(rows) || rows.length !== ids.length) invalid(file, `${key} must have ${ids.length} rows, one per input_ids row.`);
    rows.forEach((row: unknown, i) => {
      if (!Array.isArray(row) || row.length === 0) invalid(file, `${key}[${i}] must be a non-empty list of integers.`);
      if (row.length !== width) invalid(file, `${key}[${i}] has ${row.length} entries but ${key === 'input_ids' ? 'row 0 has' : 'input_ids rows have'} ${width}; rows must all be the same length (pad them and set attention_mask 0 on the padding).`);
      const bad = row.findIndex((x) => !Number.isInteger(x) || (x as number) < 0);
      if (bad >= 0) invalid(file, `${key}[${i}][${bad}] must be an integer >= 0, got ${JSON.stringify(row[bad])}.`);
    });
  }
  for (const key of ['labels', 'start_positions', 'end_positions']) {
    const v = o[key];
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.length !== ids.length)) invalid(file, `${key} must be a list with one entry per input_ids row (${ids.length}).`);
  }
  return json as InputsJson;
}

/** Ids, token types and lengths within what the model's tables hold: tfjs would gather out of range silently. */
function checkLimits(file: string, inputs: InputsJson, m: TokenLimits, model: string): void {
  const tables: Array<[keyof InputsJson, number | undefined, string]> = [['input_ids', m.vocabSize, 'vocab_size'], ['token_type_ids', m.typeVocabSize, 'type_vocab_size']];
  for (const [key, limit, name] of tables) {
    if (limit === undefined) continue;
    (inputs[key] as number[][] | undefined)?.forEach((row, i) => {
      const j = row.findIndex((x) => x >= limit);
      if (j >= 0) invalid(file, `${key}[${i}][${j}] is ${row[j]}, beyond the ${name} (${limit}) of ${model}; use ids the model knows.`);
    });
  }
  const width = inputs.input_ids[0]!.length;
  if (width > m.positions) invalid(file, `rows have ${width} tokens but ${model} has positions for ${m.positions} (max_position_embeddings); shorten them.`);
}

export function registerForward(program: Command): void {
  program
    .command('forward')
    .description("run a model on inputs.json; write logits, loss, hidden states, attentions and gradients as the parity fixtures' expected.json")
    .requiredOption('--model <dir>', 'model folder (config.json + model.safetensors) or hub id', nonEmpty)
    .requiredOption('--inputs <file>', 'inputs.json: input_ids, attention_mask, [token_type_ids], [labels]', nonEmpty)
    .option('--grads <names>', 'comma-separated HF parameter names to differentiate the loss by', nonEmpty)
    .requiredOption('--out <file>', 'where to write the JSON report', nonEmpty)
    .action(async (flags: ForwardFlags) => {
      const out = checkOutputFile(flags.out, { where: `--out ${flags.out}`, inputs: [{ role: 'model', path: flags.model }, { role: '--inputs', path: flags.inputs }], isReport: (j) => 'logits' in j && 'hidden_states' in j });
      const inputs = readInputs(flags.inputs);
      const dir = await resolveModelDir(flags.model);
      const config = loadConfig(dir);
      checkLimits(flags.inputs, inputs, tokenLimits('model', config), flags.model);
      const model = await modelClassFor(config).fromPretrained(dir, { log: (line) => console.error(line) });
      const grads = flags.grads?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
      const report = await forwardReport(model, inputs, { grads });
      model.dispose();
      writeFileAtomic(out, `${JSON.stringify(report)}\n`);
      console.error(`[distillery] wrote ${flags.out} (${model.constructor.name}${report.loss !== undefined ? `, loss ${report.loss}` : ''})`);
    });
}
