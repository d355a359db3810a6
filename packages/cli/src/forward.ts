/**
 * `distillery forward`: one forward (+ backward) pass of a model folder on an inputs.json, written
 * in the parity fixtures' expected.json shape. How a port is debugged and checked from outside.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { forwardReport, loadConfig, modelClassFor, resolveModelDir, type InputsJson } from '@distillery/models';
import { DistilleryCliError } from './errors.js';

interface ForwardFlags {
  model: string;
  inputs: string;
  grads?: string;
  out: string;
}

function readInputs(file: string): InputsJson {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as InputsJson;
  } catch (cause) {
    throw new DistilleryCliError('CLI_USAGE', `--inputs ${file}: cannot read it as JSON (${(cause as Error).message}); pass a file like the fixtures' inputs.json.`, { cause });
  }
}

export function registerForward(program: Command): void {
  program
    .command('forward')
    .description("run a model on inputs.json; write logits, loss, hidden states, attentions and gradients as the parity fixtures' expected.json")
    .requiredOption('--model <dir>', 'model folder (config.json + model.safetensors) or hub id')
    .requiredOption('--inputs <file>', 'inputs.json: input_ids, attention_mask, [token_type_ids], [labels]')
    .option('--grads <names>', 'comma-separated HF parameter names to differentiate the loss by')
    .requiredOption('--out <file>', 'where to write the JSON report')
    .action(async (flags: ForwardFlags) => {
      const inputs = readInputs(flags.inputs);
      const dir = await resolveModelDir(flags.model);
      const model = await modelClassFor(loadConfig(dir)).fromPretrained(dir, { log: (line) => console.error(line) });
      const grads = flags.grads?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
      const report = forwardReport(model, inputs, { grads });
      model.dispose();
      await mkdir(dirname(flags.out), { recursive: true });
      await writeFile(flags.out, `${JSON.stringify(report)}\n`);
      console.error(`[distillery] wrote ${flags.out} (${model.constructor.name}${report.loss !== undefined ? `, loss ${report.loss}` : ''})`);
    });
}
