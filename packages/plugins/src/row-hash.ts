/**
 * SHA-256 of a row's parts, as hex: the key both teacher caches file a row under. @noble/hashes
 * computes it synchronously in any JavaScript runtime (node:crypto is Node-only, and WebCrypto's
 * digest is asynchronous), and gives the same digest as node:crypto over the same bytes, so caches
 * written before keep their keys. Typed arrays are hashed as their bytes, strings as UTF-8.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export function sha256Hex(parts: ReadonlyArray<string | Int32Array>): string {
  const h = sha256.create();
  for (const p of parts) h.update(typeof p === 'string' ? utf8ToBytes(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return bytesToHex(h.digest());
}
