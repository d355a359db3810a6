export { DistilleryPluginsError } from './errors.js';
export type { PluginsErrorCode } from './errors.js';
