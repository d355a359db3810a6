// config.json in and out: HF defaults, validation errors naming the field, unknown keys kept.
import { tempDir } from '../helpers/tmp.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutoConfig, configToJSON, DistilleryModelsError, loadConfig, parseConfig, withOverrides } from '@distillery/models';

const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;
const CASES = readdirSync(FIX).filter((d) => existsSync(join(FIX, d, 'config.json')));

function codeOf(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DistilleryModelsError);
    return [(e as DistilleryModelsError).code, (e as Error).message];
  }
  throw new Error('expected a DistilleryModelsError');
}

describe('config', () => {
  it.each(CASES)('%s: parse -> toJSON keeps every HF key and value (num_labels via id2label)', (name) => {
    const raw = JSON.parse(readFileSync(join(FIX, name, 'config.json'), 'utf8')) as Record<string, unknown>;
    const config = loadConfig(join(FIX, name));
    const json = configToJSON(config);
    for (const [k, v] of Object.entries(raw)) if (k !== 'num_labels') expect(json[k], k).toEqual(v);
    expect(Object.keys(json).length).toBeGreaterThanOrEqual(Object.keys(raw).length - 1);
    expect(parseConfig(json)).toEqual(config);
  });

  it('fills HF defaults per model_type', () => {
    expect(AutoConfig.forModel('bert')).toMatchObject({ hiddenSize: 768, numHiddenLayers: 12, layerNormEps: 1e-12, padTokenId: 0, numLabels: 2 });
    expect(AutoConfig.forModel('roberta')).toMatchObject({ vocabSize: 50265, padTokenId: 1 });
    expect(AutoConfig.forModel('albert')).toMatchObject({ hiddenAct: 'gelu_new', embeddingSize: 128, hiddenDropoutProb: 0 });
    expect(AutoConfig.forModel('distilbert')).toMatchObject({ dim: 768, nLayers: 6, activation: 'gelu', seqClassifDropout: 0.2 });
  });

  it('numLabels override regenerates labels; problem_type round-trips', () => {
    const c = withOverrides(AutoConfig.forModel('bert'), { numLabels: 3, problemType: 'multi_label_classification' });
    expect(c.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    expect(configToJSON(c)).toMatchObject({ problem_type: 'multi_label_classification', label2id: { LABEL_2: 2 } });
  });

  it('rejects bad configs with the field named', () => {
    expect(codeOf(() => parseConfig({ model_type: 'bert', hidden_size: 30, num_attention_heads: 4 }, 'c.json'))).toEqual(['CONFIG_INVALID', expect.stringMatching(/c.json: "hidden_size" \(30\) must be a multiple of "num_attention_heads" \(4\)/)]);
    expect(codeOf(() => parseConfig({ model_type: 'gpt2' }, 'c.json'))).toEqual(['UNKNOWN_MODEL_TYPE', expect.stringMatching(/"model_type" is "gpt2"; supported: bert, distilbert/)]);
    expect(codeOf(() => parseConfig({ model_type: 'albert', hidden_act: 'mish' }, 'c.json'))).toEqual(['UNKNOWN_ACTIVATION', expect.stringMatching(/"hidden_act" is "mish"/)]);
    expect(codeOf(() => parseConfig({ model_type: 'distilbert', n_layers: 0 }, 'c.json'))).toEqual(['CONFIG_INVALID', expect.stringMatching(/"n_layers" is 0; it must be a positive integer/)]);
    expect(codeOf(() => parseConfig({ model_type: 'bert', position_embedding_type: 'relative_key' }, 'c.json'))[0]).toBe('CONFIG_INVALID');
    expect(codeOf(() => loadConfig(tempDir('distillery-cfg-')))).toEqual(['CONFIG_MISSING', expect.stringMatching(/config.json: cannot read/)]);
  });

  it('names values JSON cannot hold (configs built in code) instead of crashing while reporting them', () => {
    const cyclic: Record<string, unknown> = { model_type: 'bert' };
    cyclic.hidden_size = cyclic;
    expect(codeOf(() => parseConfig({ model_type: 'bert', hidden_size: 10n }, 'c.json'))).toEqual(['CONFIG_INVALID', expect.stringMatching(/"hidden_size" is 10n; it must be a positive integer/)]);
    expect(codeOf(() => parseConfig(cyclic, 'c.json'))).toEqual(['CONFIG_INVALID', expect.stringMatching(/"hidden_size" is a value JSON cannot represent \(object\)/)]);
    expect(codeOf(() => parseConfig({ model_type: 5n }, 'c.json'))[0]).toBe('UNKNOWN_MODEL_TYPE');
  });
});
