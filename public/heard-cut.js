// Where a listener stopped hearing an interrupted reply, shown in its rendered markdown: the words of the speech
// heard so far are found, in order, in the bubble's text, and everything after the last of them is faded. Speech
// is normalised display text (no markdown marks, links by their text, URLs by their host, a code block as one
// note), so it is matched word by word, not character by character. An estimate for showing the cut; the gateway
// maps heardChars exactly for the history. Owns that cut only.

/** What the gateway says in place of a fenced code block (src/speech/normalise.ts, CODE_BLOCK_NOTE). */
const CODE_NOTE = ['see', 'the', 'code', 'on', 'screen'];
/** A heard word not found within this many characters of text is skipped (said, but not shown as such). */
const LOOKAHEAD = 160;
const BLOCKS = 'p, li, h3, h4, h5, h6, pre, td, th, blockquote';
const WORD = /[\p{L}\p{N}]+/gu;

/** The words of `segments` (speech, joined with no separator) that lie wholly within the first `heardChars`. */
export function heardWords(segments, heardChars) {
  const words = [];
  let offset = 0;
  for (const segment of segments) {
    for (const match of segment.matchAll(WORD)) {
      if (offset + match.index + match[0].length > heardChars) return words;
      words.push(match[0].toLowerCase());
    }
    offset += segment.length;
  }
  return words;
}

/** The bubble's visible reply text as one string, with where each text node sits in it. */
function project(bubble) {
  const walker = document.createTreeWalker(bubble, window.NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentElement.closest('.visually-hidden, .tool')
        ? window.NodeFilter.FILTER_REJECT
        : window.NodeFilter.FILTER_ACCEPT,
  });
  const parts = [];
  let text = '';
  let block = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const owner = node.parentElement.closest(BLOCKS);
    if (owner !== block && text !== '') text += '\n'; // words of two blocks never run together
    block = owner;
    const code = node.parentElement.closest('pre');
    parts.push({ node, start: text.length, code });
    text += node.data;
  }
  // Code text is not spoken: mask it, and count only the rest towards LOOKAHEAD.
  let plain = text;
  for (const part of parts) {
    if (part.code)
      plain = plain.slice(0, part.start) + ' '.repeat(part.node.length) + plain.slice(part.start + part.node.length);
  }
  return { parts, text, plain };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The position in the projected text just after the last heard word (and the punctuation glued to it). */
function cutPosition({ parts, text, plain }, words) {
  let cursor = 0;
  for (let i = 0; i < words.length; i++) {
    if (CODE_NOTE.every((word, k) => words[i + k] === word)) {
      const code = parts.find((part) => part.code && part.start >= cursor);
      if (code) {
        const last = parts.filter((part) => part.code === code.code).at(-1);
        cursor = last.start + last.node.length;
        i += CODE_NOTE.length - 1;
        continue;
      }
    }
    const found = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(words[i])}(?![\\p{L}\\p{N}])`, 'giu');
    found.lastIndex = cursor;
    const match = found.exec(plain);
    if (!match || plain.slice(cursor, match.index).replace(/\s+/g, '').length > LOOKAHEAD) continue;
    cursor = match.index + match[0].length;
  }
  while (cursor < text.length && /[^\s\p{L}\p{N}]/u.test(text[cursor])) cursor++;
  return cursor;
}

function fade(node, title) {
  const span = document.createElement('span');
  span.className = 'unheard';
  if (title) span.title = title;
  node.replaceWith(span);
  span.append(node);
  return span;
}

/**
 * Fades what was not heard of the reply in `bubble`: the text after the last word of the first `heardChars`
 * characters of `segments`, the tool chips after it, and the list items, code blocks and rules wholly after it.
 */
export function markUnheard(bubble, segments, heardChars) {
  const projection = project(bubble);
  const cut = cutPosition(projection, heardWords(segments, heardChars));
  if (!/[\p{L}\p{N}]/u.test(projection.text.slice(cut))) return; // all of it was heard
  // The first text after the cut with something visible in it: the cut mark goes before its first word.
  const index = projection.parts.findIndex(
    (part) => part.start + part.node.length > cut && /\S/.test(part.node.data.slice(Math.max(0, cut - part.start))),
  );
  const first = projection.parts[index];
  let at = Math.max(0, cut - first.start);
  while (/\s/.test(first.node.data[at])) at++;
  const tail = at > 0 ? first.node.splitText(at) : first.node;
  const rest = projection.parts.slice(index + 1).filter((part) => part.node.data.trim() !== '');
  const marker = fade(tail, 'Not heard: the assistant will not remember this part');
  marker.classList.add('cut');
  const note = document.createElement('span');
  note.className = 'visually-hidden';
  note.textContent = ' (not heard from here) ';
  marker.before(note);
  for (const part of rest) fade(part.node);
  for (const node of bubble.querySelectorAll('li, pre, hr, blockquote, tr, .tool')) {
    const after = marker.compareDocumentPosition(node) & window.Node.DOCUMENT_POSITION_FOLLOWING;
    if (after && !node.contains(marker)) node.classList.add('unheard');
  }
}
