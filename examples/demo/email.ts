/**
 * A small RFC 822 / MIME reader: raw mbox message in, subject and readable body out.
 * It covers what the SpamAssassin corpus holds: folded headers, RFC 2047 encoded subjects,
 * nested multipart bodies, quoted-printable and base64 parts, and legacy charsets.
 */
import { htmlToText } from './clean.js';

export interface ParsedEmail {
  subject: string;
  /** Plain text of the readable parts (HTML already reduced to text), attachments left out. */
  body: string;
}

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

/** Splits a message (or a MIME part) at its first blank line and unfolds the header block. */
function splitPart(raw: string): MimePart {
  const cut = raw.search(/\n\n/);
  const head = cut < 0 ? raw : raw.slice(0, cut);
  const body = cut < 0 ? '' : raw.slice(cut + 2);
  const headers = new Map<string, string>();
  // A line starting with whitespace continues the previous header (RFC 822 folding).
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // the mbox "From " envelope line has no colon-terminated name
    const name = line.slice(0, colon).trim().toLowerCase();
    if (/\s/.test(name)) continue;
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** `text/html; charset="x"; boundary=y` → type plus lower-cased parameter map. */
function contentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const [type = '', ...rest] = (value ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

/** Bytes in a legacy charset → string; unknown charsets fall back to latin1 (every byte maps). */
function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset?.toLowerCase() || 'latin1').decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

function decodeQuotedPrintable(s: string, inHeader: boolean): Uint8Array {
  const text = (inHeader ? s.replace(/_/g, ' ') : s).replace(/=\n/g, ''); // soft line breaks
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(text[i] ?? '', 'utf8')); // QP is ASCII; stray non-ASCII stays intact
    }
  }
  return Uint8Array.from(out);
}

function decodeBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'));
}

/** RFC 2047: `=?charset?B|Q?payload?=` words inside a header value. */
export function decodeHeader(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2') // whitespace between adjacent encoded words is not content
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_m, charset: string, enc: string, payload: string) =>
      decodeBytes(enc.toUpperCase() === 'B' ? decodeBase64(payload) : decodeQuotedPrintable(payload, true), charset),
    );
}

function decodeBody(part: MimePart, charset: string | undefined): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase().trim();
  if (encoding === 'base64') return decodeBytes(decodeBase64(part.body), charset);
  if (encoding === 'quoted-printable') return decodeBytes(decodeQuotedPrintable(part.body, false), charset);
  return part.body;
}

/** Children of a multipart body: the chunks between `--boundary` lines, up to `--boundary--`. */
function multipartChildren(body: string, boundary: string): string[] {
  const end = body.indexOf(`\n--${boundary}--`);
  const chunks = (end < 0 ? body : body.slice(0, end)).split(`--${boundary}`);
  // chunks[0] is the preamble ("This is a multi-part message in MIME format.").
  return chunks.slice(1).map((c) => c.replace(/^[ \t]*\n/, ''));
}

/** Readable text of one part, walking nested multiparts; attachments and signatures give ''. */
function readableText(part: MimePart): string {
  const { type, params } = contentType(part.headers.get('content-type'));
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = params.get('boundary');
    if (!boundary) return htmlOrPlain(part.body, 'text/plain'); // malformed: treat as plain
    const children = multipartChildren(part.body, boundary).map(splitPart);
    if (type === 'multipart/alternative') {
      // The same content twice: prefer the plain rendering, else the richest one that reads.
      const plain = children.find((c) => contentType(c.headers.get('content-type')).type === 'text/plain');
      const chosen = plain ?? children[children.length - 1];
      return chosen ? readableText(chosen) : '';
    }
    return children.map(readableText).filter((t) => t.trim()).join('\n');
  }
  if (!type.startsWith('text/') || disposition.startsWith('attachment')) return '';
  return htmlOrPlain(decodeBody(part, params.get('charset')), type);
}

// Markup that only HTML has: enough to tell HTML sent as "text/plain" (common in spam).
const HTML_TAG = /<\/?(html|head|body|br|p|div|font|table|tr|td|a|img|b|i|u|center|span|frameset|meta|x-html)\b[^>]*>/i;

function htmlOrPlain(text: string, type: string): string {
  return type === 'text/html' || HTML_TAG.test(text) ? htmlToText(text) : text;
}

export function parseEmail(raw: string): ParsedEmail {
  const part = splitPart(raw.replace(/\r\n?/g, '\n'));
  return { subject: decodeHeader(part.headers.get('subject') ?? ''), body: readableText(part) };
}
