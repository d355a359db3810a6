export { DistilleryOnnxError } from './errors.js';
export type { OnnxErrorCode } from './errors.js';
export { exportOnnx, TOKENIZER_FILES } from './export.js';
export type { ExportOptions, ExportResult } from './export.js';
export { buildGraph, quantizeColumns, OPSET } from './graph.js';
export type { GraphSignature } from './graph.js';
export { OnnxTeacher } from './teacher.js';
export type { OnnxTeacherConfig, OnnxTeacherOptions } from './teacher.js';
