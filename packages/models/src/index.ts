export { DistilleryModelsError } from './errors.js';
export type { ModelsErrorCode } from './errors.js';
export { readSafetensors, parseSafetensors, serializeSafetensors, MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsFile, SafetensorsDtype, TensorEntry, TensorToWrite } from './safetensors.js';
export { resolveModelDir, hubCacheDir, repoCacheDir } from './hub.js';
export type { ResolveOptions } from './hub.js';
