/**
 * Hand-assembled safetensors bytes for bad-input cases and fuzzing: any header text, any data,
 * any length prefix — everything the real writer refuses to produce.
 */
export function safetensorsBytes(header: Uint8Array | string | object, data: Uint8Array = new Uint8Array(0), lengthPrefix?: bigint): Uint8Array {
  const json = header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthPrefix ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** `n` little-endian float32 bytes counting 1, 2, 3, … (recognisable in a hex dump). */
export function f32Bytes(n: number): Uint8Array {
  return new Uint8Array(Float32Array.from({ length: n }, (_, i) => i + 1).buffer);
}
