/** Parameter counts as the table reports them, read off the HF state-dict names. */
import type * as tf from '@tensorflow/tfjs';

export interface ParameterCounts {
  params: number;
  /** The transformer layers only (`*.encoder.*`): embeddings, pooler and head excluded. */
  encoderParams: number;
}

export function countParameters(named: ReadonlyMap<string, tf.Variable>): ParameterCounts {
  let params = 0;
  let encoderParams = 0;
  for (const [name, v] of named) {
    params += v.size;
    if (/(^|\.)encoder\./.test(name)) encoderParams += v.size;
  }
  return { params, encoderParams };
}
