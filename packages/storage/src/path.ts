/**
 * `/`-separated path arithmetic for code that must also run in a browser (no `node:path`). It
 * matches `path.posix.join` / `dirname`; Node's file APIs accept `/` on every platform.
 */

/** Join segments and normalise `.`, `..` and repeated slashes, as `path.posix.join` (a trailing slash stays). */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  if (joined === '') return '.';
  const absolute = joined.startsWith('/');
  const out: string[] = [];
  for (const segment of joined.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (segment !== '..' || !absolute) out.push(segment);
  }
  const body = (absolute ? '/' : '') + out.join('/') || '.';
  return joined.endsWith('/') && body !== '/' ? `${body}/` : body;
}

/** `path` normalised, without a trailing slash (the root keeps its own). */
function trimmed(path: string): string {
  const p = joinPath(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** The folder holding `path`, as `path.posix.dirname`. */
export function parentPath(path: string): string {
  const p = trimmed(path);
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

/** The last segment of `path`, as `path.posix.basename`. */
export function baseName(path: string): string {
  const p = trimmed(path);
  return p === '/' ? '' : p.slice(p.lastIndexOf('/') + 1);
}
