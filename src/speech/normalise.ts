// Speech normalisation: turns display text (markdown, emoji, URLs) into plain text for speechSynthesis.
// Owns *what is said* for a piece of text; where pieces are cut is segmenter.ts's job. Display text keeps all.
import { removeEmoji, speakUrl } from './symbols.js';

/**
 * Said in place of a fenced code block. Reading code aloud is useless (symbols, indentation) and silence
 * would hide that something was skipped, so we point at the screen, which still shows the block. It is a
 * full sentence so it sits naturally between sentences of the reply.
 */
export const CODE_BLOCK_NOTE = 'See the code on screen.';

// Lines that start or end a fenced block: up to 3 spaces, then ``` or ~~~ (CommonMark).
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const QUOTE = /^\s*(?:>\s?)+/;
const HEADING = /^\s{0,3}#{1,6}(?:\s+|$)/;
const HEADING_TAIL = /\s+#+\s*$/;
const LIST_MARKER = /^\s*(?:[-*+•]|\d{1,9}[.)])\s+/;
const RULE = /^(?:-{3,}|\*{3,}|_{3,}|={3,})$/;
const TABLE_SEPARATOR = /^[|:\-\s]+$/;
// Punctuation that already gives the voice a pause; trailing markdown/quotes are ignored when checking.
const ENDS_WITH_PAUSE = /[.!?:;,…。！？]["'”’)\]*_~`\s]*$/;

// Inline patterns. Every repeated class excludes its opening and closing delimiters, so a failed attempt
// stops at the next delimiter and matching stays linear ("[[[[…" would otherwise rescan the line each time).
const INLINE_CODE = /(`+)([^`]+)\1/g;
const IMAGE = /!\[([^[\]\n]*)\]\([^()\n]*\)/g;
const LINK = /\[([^[\]\n]*)\]\([^()\n]*\)/g;
const REF_LINK = /\[([^[\]\n]+)\]\[[^[\]\n]*\]/g;
const AUTOLINK = /<((?:https?|ftp):\/\/[^\s>]+)>/gi;
const BARE_URL = /\b(?:https?:\/\/|www\.)[^\s<>"'`)\]}]+/gi;
const HTML_TAG = /<\/?[a-z][a-z0-9-]*(?:\s[^<>\n]*)?\/?>/gi;
const STRONG_STAR = /\*\*(?=[^\s*])([^*\n]*[^\s*])\*\*/g;
const EM_STAR = /(?<!\p{N})\*(?=[^\s*])([^*\n]*[^\s*])?\*/gu;
const STRIKE = /~~(?=[^\s~])([^~\n]*[^\s~])~~/g;
// Underscore emphasis only at word edges, so snake_case_name is never touched (CommonMark agrees).
const STRONG_UNDER = /(?<![\p{L}\p{N}_])__(?=[^\s_])([^_\n]*[^\s_])__(?![\p{L}\p{N}_])/gu;
const EM_UNDER = /(?<![\p{L}\p{N}_])_(?=[^\s_])([^_\n]*[^\s_])_(?![\p{L}\p{N}_])/gu;
// Leftovers: a segment cut can split a `**bold span**`, so unpaired markers must go too.
const STRAY_RUNS = /\*{2,}|~{2,}|(?<![\p{L}\p{N}])_{2,}|_{2,}(?![\p{L}\p{N}])/gu;
const STRAY_OPENER = /(?<![^\s(["'“‘])[*_](?=[\p{L}\p{N}])/gu;
const STRAY_CLOSER = /(?<=[\p{L}\p{N}.,!?;:])[*_](?![\p{L}\p{N}_*])/gu;
const LINK_REMNANT = /\]\([^)\s]*\)?/g;
const BRACKETS_PIPES_TICKS = /[[\]|`]/g;
const ESCAPE = /\\([\\`*_{}[\]()#+\-.!|~<>])/g;

/**
 * Plain speakable text for a piece of display text: markdown, emoji and URLs removed, whitespace collapsed.
 * Returns '' when nothing speakable (no letter or digit) is left, e.g. for pure emoji or markdown.
 * Words, digits, apostrophes and ordinary punctuation are kept; identifiers such as snake_case_name and
 * inline code text are kept verbatim. Bare URLs become their domain ("https://www.example.com/a?b" →
 * "example.com"): the listener learns where the link goes and the sentence stays grammatical, while the
 * full path is unspeakable. Lines that were headings, list items or table rows get a full stop when they
 * lack end punctuation, so the voice pauses between items instead of running them together.
 * Works on any slice: the segmenter normalises each segment on its own, and a slice may start mid-line.
 */
export function normaliseForSpeech(text: string): string {
  if (text.length === 0) return '';
  return isPlainProse(text) ? speakable(text) : normaliseMarkup(text);
}

// Most of a reply is prose that no rule below changes: letters, digits, spaces and sentence punctuation, with no
// list marker or rule at the start and no bare URL. It skips the twenty-odd passes of the markup rules (at
// 1,000 sessions they were about 1.5 % of the gateway's CPU) and ends exactly as they would.
const PLAIN_PROSE = /^[A-Za-z0-9 ,.;:!?'"’‘“”…-]*$/;
const LINE_START_MARK = /^ *[-0-9]/;
const WWW = /www\./i;

function isPlainProse(text: string): boolean {
  return PLAIN_PROSE.test(text) && !LINE_START_MARK.test(text) && !WWW.test(text);
}

/** Markdown, emoji and URLs removed (the general path of normaliseForSpeech; exported for its tests). */
export function normaliseMarkup(text: string): string {
  const plain = stripBlocks(text);
  let out = '';
  let last = 0;
  for (const match of plain.matchAll(INLINE_CODE)) {
    out += stripInline(plain.slice(last, match.index)) + (match[2] ?? '');
    last = match.index + match[0].length;
  }
  out += stripInline(plain.slice(last));
  return speakable(removeEmoji(out).replace(/\(\s*\)/g, ' '));
}

/** Whitespace collapsed, no space before punctuation, trimmed; '' when no letter or digit is left. */
function speakable(text: string): string {
  const out = text
    .replace(/\s+/g, ' ')
    .replace(/ (?=[,.;:!?…](?: |$))/g, '')
    .trim();
  return /[\p{L}\p{N}]/u.test(out) ? out : '';
}

/** Block-level markdown, line by line: fences, quotes, headings, list markers, rules and tables. */
function stripBlocks(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let fence: string | null = null; // the opening run (``` or ~~~…) while inside a fenced block
  for (const raw of lines) {
    const fenceMatch = FENCE.exec(raw);
    if (fence !== null) {
      // A closing fence uses the same character, at least as long, and nothing else on the line.
      const run = fenceMatch?.[1];
      if (run !== undefined && run[0] === fence[0] && run.length >= fence.length && raw.trim() === run) {
        fence = null;
      }
      continue;
    }
    if (fenceMatch?.[1] !== undefined) {
      fence = fenceMatch[1];
      out.push(CODE_BLOCK_NOTE); // an unclosed fence (e.g. at finish) swallows the rest, like a renderer
      continue;
    }
    let line = raw.replace(QUOTE, '');
    const trimmed = line.trim();
    if (RULE.test(trimmed.replace(/\s+/g, ''))) continue;
    let block = false;
    if (trimmed.includes('|') && trimmed.includes('-') && TABLE_SEPARATOR.test(trimmed)) continue;
    if (HEADING.test(line)) {
      line = line.replace(HEADING, '').replace(HEADING_TAIL, '');
      block = true;
    } else if (LIST_MARKER.test(line)) {
      line = line.replace(LIST_MARKER, '');
      block = true;
    }
    if (isTableRow(line.trim())) {
      line = line
        .split('|')
        .map((cell) => cell.trim())
        .filter((cell) => cell !== '')
        .join(', ');
      block = true;
    }
    if (block && line.trim() !== '' && !ENDS_WITH_PAUSE.test(line)) line = line.trimEnd() + '.';
    out.push(line);
  }
  return out.join('\n');
}

function isTableRow(line: string): boolean {
  if (line.startsWith('|')) return true;
  const first = line.indexOf('|');
  return first >= 0 && line.indexOf('|', first + 1) >= 0;
}

/** Inline markdown outside code spans: images, links, URLs, HTML tags, emphasis and stray markers. */
function stripInline(text: string): string {
  if (text.length === 0) return text;
  return text
    .replace(IMAGE, '$1')
    .replace(LINK, '$1')
    .replace(REF_LINK, '$1')
    .replace(AUTOLINK, (_all, url: string) => speakUrl(url))
    .replace(BARE_URL, speakUrl)
    .replace(HTML_TAG, ' ')
    .replace(STRONG_STAR, '$1')
    .replace(STRONG_UNDER, '$1')
    .replace(STRIKE, '$1')
    .replace(EM_STAR, '$1')
    .replace(EM_UNDER, '$1')
    .replace(STRAY_RUNS, '')
    .replace(STRAY_OPENER, '')
    .replace(STRAY_CLOSER, '')
    .replace(LINK_REMNANT, '')
    .replace(BRACKETS_PIPES_TICKS, ' ')
    .replace(ESCAPE, '$1');
}
