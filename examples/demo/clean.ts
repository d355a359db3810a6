/**
 * Text cleanup between a decoded email and the tokenizer: HTML to text, quoted replies,
 * signatures, URLs and addresses reduced to short words, whitespace collapsed.
 */

const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', trade: '™',
  euro: '€', pound: '£', cent: '¢', middot: '·', bull: '•', hellip: '…', mdash: '—', ndash: '–',
  laquo: '«', raquo: '»', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”',
};

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
    }
    return NAMED_ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Visible text of an HTML document: no tags, scripts, styles or comments; block ends become line breaks. */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    // Link targets carry signal (spam links out a lot); keep them so URL reduction sees them.
    .replace(/<a\b[^>]*\bhref\s*=\s*["']?([^"'\s>]+)[^>]*>/gi, ' $1 ')
    .replace(/<\/?(br|p|div|tr|li|h[1-6]|table|blockquote)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ');
  return decodeEntities(text);
}

// Transport and MIME headers that turn up inside bodies (forwards, pasted bounce reports).
const HEADER_LINE = /^\s*(received|return-path|delivered-to|message-id|x-[\w-]+|content-[\w-]+|mime-version|in-reply-to|references|precedence|list-[\w-]+|errors-to|sender|envelope-to):/i;

/** Drops what is not the sender's own words: quoted replies, attributions, pasted headers, signatures, list footers. */
export function stripQuoted(body: string): string {
  const lines = body.split('\n');
  const kept: string[] = [];
  let inHeader = false;
  for (const [i, line] of lines.entries()) {
    if (line.trimEnd() === '--' || line === '-- ') break; // signature delimiter
    // A mailing-list footer: a rule of underscores, then the list blurb.
    if (/^_{10,}\s*$/.test(line) && /mailing list|listinfo|unsubscribe/i.test(lines.slice(i + 1, i + 4).join(' '))) break;
    inHeader = HEADER_LINE.test(line) || (inHeader && /^[ \t]+\S/.test(line)); // folded header lines follow
    if (inHeader) continue;
    if (/^\s*([\w+-]{0,12}>|[|)] )/.test(line)) continue; // quoted reply: "> ", "| ", ") ", supercite "Chris> "
    if (/^\s*On .{0,120}wrote:\s*$/.test(line) || /^-{3,}\s*Original Message\s*-{3,}/i.test(line)) continue;
    kept.push(line);
  }
  return kept.join('\n');
}

/**
 * One line of words: URLs become their host, addresses become "email", long symbol runs and
 * undecoded blobs go, whitespace collapses. Hosts stay because where a mail points is evidence.
 */
export function normaliseText(text: string): string {
  return text
    .replace(/\b(?:https?|ftp):\/\/(?:www\.)?([a-z0-9.-]+)[^\s<>"')\]]*/gi, ' $1 ')
    .replace(/\bwww\.([a-z0-9.-]+)[^\s<>"')\]]*/gi, ' $1 ')
    .replace(/\bmailto:/gi, ' ')
    .replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, ' email ')
    .replace(/\S{60,}/g, ' ') // base64 leftovers, hashes, PGP armour: no words in them
    .replace(/([^\p{L}\p{N}\s])\1{3,}/gu, '$1$1$1') // "!!!!!!!!" → "!!!", "=====" → "==="
    .replace(/\s+/g, ' ')
    .trim();
}

/** The key two texts share when they are the same message: case, punctuation and spacing ignored. */
export function dedupeKey(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}
