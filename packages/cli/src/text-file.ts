/**
 * The one way the CLI reads a text file it was given (config, dataset, inputs.json): strict
 * UTF-8, so a file saved in another encoding fails by name instead of training on U+FFFD.
 */
import { readFileSync } from 'node:fs';
import { DistilleryCliError, type CliErrorCode } from './errors.js';
import { systemErrorReason } from './output-path.js';

const UTF16_BOMS: ReadonlyArray<[number, number, string]> = [[0xff, 0xfe, 'UTF-16 LE'], [0xfe, 0xff, 'UTF-16 BE']];

/**
 * A text file (dataset, config, inputs.json) decoded strictly as UTF-8, for every reader of the
 * CLI: a UTF-8 byte-order mark is dropped (editors on Windows add one; JSON.parse would choke on
 * it), a UTF-16 one is refused by name, and an invalid byte sequence is refused with its line,
 * never replaced by U+FFFD in silence. `hint` says what to check when the file cannot be read;
 * `label` is how the user named the file (default: the path), `code` the error code (DATA_INVALID).
 */
export function readTextFile(file: string, options: { hint: string; label?: string; code?: CliErrorCode }): string {
  const { hint, label = file, code = 'DATA_INVALID' } = options;
  const refuse = (where: string, message: string, cause?: unknown): never => {
    throw new DistilleryCliError(code, `${where}: ${message}`, { cause });
  };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    return refuse(label, `cannot read it (${systemErrorReason(cause) ?? (cause as Error).message}); check ${hint}.`, cause);
  }
  for (const [a, b, name] of UTF16_BOMS) {
    if (bytes[0] === a && bytes[1] === b) refuse(label, `starts with a ${name} byte-order mark; the file is ${name}, save it as UTF-8.`);
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return decoder.decode(bytes.subarray(start));
  } catch (cause) {
    // Find the line: decode line by line (a newline byte never occurs inside a UTF-8 sequence).
    let lineStart = start;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, lineStart);
      const chunk = bytes.subarray(lineStart, end < 0 ? bytes.length : end);
      try {
        decoder.decode(chunk);
      } catch {
        const col = firstInvalidByte(chunk);
        return refuse(`${file} line ${line}`, `is not valid UTF-8 (byte 0x${chunk[col]!.toString(16).padStart(2, '0')} at column ${col + 1}); re-save the file as UTF-8.`, cause);
      }
      if (end < 0) return refuse(file, 'is not valid UTF-8; re-save the file as UTF-8.', cause);
      lineStart = end + 1;
    }
  }
}

/**
 * Offset of the first byte of the first invalid sequence in `chunk`: fed byte by byte to a
 * streaming decoder (a line is short), which holds a multi-byte sequence back until it completes.
 */
function firstInvalidByte(chunk: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let pending = -1; // where the sequence the decoder holds back began
  for (let i = 0; i < chunk.length; i++) {
    try {
      const out = decoder.decode(chunk.subarray(i, i + 1), { stream: true });
      pending = out === '' ? (pending < 0 ? i : pending) : -1;
    } catch {
      return pending < 0 ? i : pending;
    }
  }
  return pending < 0 ? chunk.length - 1 : pending; // a sequence cut by the end of the line
}

