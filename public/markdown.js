// Reply text as markdown, safely: marked (GFM) renders it with every raw HTML tag of the model escaped to
// text, then DOMPurify keeps only the elements markdown makes, and links only to http(s) and mailto, opening in a
// new tab. A streaming reply is rendered incrementally: blocks that a blank line ended are rendered once and
// kept; only the open block at the end is rendered again, at most once per animation frame. Both libraries are
// served from node_modules by the gateway (/vendor/, src/app.ts). Owns a reply's rendered text only.
import { Marked } from './vendor/marked.esm.js';
import DOMPurify from './vendor/purify.es.mjs';

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

const marked = new Marked({
  gfm: true,
  breaks: true, // a single newline in a chat reply is meant as a line break
  renderer: {
    // Raw HTML from the model is shown as the text it is, never as markup.
    html({ text, block }) {
      return block ? `<p>${escapeHtml(text)}</p>` : escapeHtml(text);
    },
    // The page has its h1 and the log its h2: a reply's headings sit below them.
    heading({ tokens, depth }) {
      const level = Math.min(depth + 2, 6);
      return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>`;
    },
    // No images from the model (tracking, and the page's CSP allows none): a link to it, named by its alt text.
    image({ href, text }) {
      return `<a href="${escapeHtml(href)}">${escapeHtml(text || 'image')}</a>`;
    },
    checkbox({ checked }) {
      return checked ? '☑ ' : '☐ ';
    },
  },
});

const PURIFY = {
  ALLOWED_TAGS: [
    'a',
    'blockquote',
    'br',
    'code',
    'del',
    'em',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'li',
    'ol',
    'p',
    'pre',
    'strong',
    'table',
    'tbody',
    'td',
    'th',
    'thead',
    'tr',
    'ul',
  ],
  ALLOWED_ATTR: ['href', 'title', 'start', 'align', 'class'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // marked's only class is a code block's language: anything else goes.
  if (node.hasAttribute('class') && !/^language-[\w+-]+$/.test(node.getAttribute('class'))) {
    node.removeAttribute('class');
  }
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/** Sanitised DOM nodes for some block tokens, without the whitespace between blocks or an empty code block. */
function toNodes(blocks) {
  const tokens = blocks.filter((token) => token.type !== 'code' || token.text.trim() !== '');
  if (tokens.length === 0) return [];
  const fragment = DOMPurify.sanitize(marked.parser(tokens), PURIFY);
  return [...fragment.childNodes].filter((node) => node.nodeType !== 3 || node.textContent.trim() !== '');
}

/** Sanitised DOM nodes for a markdown text. */
export function renderMarkdown(text) {
  return toNodes(marked.lexer(text));
}

/**
 * How many of `tokens` are finished: those up to the last blank line that has a block after it. A blank line
 * ends a paragraph, heading, quote or table for good; a list or a code fence that goes on holds it inside.
 */
function settledCount(tokens) {
  for (let i = tokens.length - 2; i >= 0; i--) if (tokens[i].type === 'space') return i + 1;
  return 0;
}

/**
 * A run of reply text in `root` (the element it fills), rendered as markdown while it streams in. `around`
 * wraps each render (the log keeps the newest text in view).
 */
export function createMarkdownRun(root, around = (change) => change()) {
  let source = '';
  let settled = 0; // how much of `source` is rendered into blocks that will not change
  let open = []; // the nodes of the block(s) after that, rendered again as text arrives
  let frame = 0;

  function render() {
    window.cancelAnimationFrame(frame);
    frame = 0;
    around(update);
  }

  function update() {
    const tail = source.slice(settled);
    const tokens = marked.lexer(tail);
    // Settle only when the blocks account for every character (they do; anything else renders all again).
    const whole = tokens.map((token) => token.raw).join('') === tail;
    const count = whole ? settledCount(tokens) : 0;
    for (const node of open) node.remove();
    if (count > 0) {
      root.append(...toNodes(tokens.slice(0, count)));
      settled += tokens.slice(0, count).reduce((sum, token) => sum + token.raw.length, 0);
    }
    open = toNodes(tokens.slice(count));
    root.append(...open);
  }

  return {
    append(text) {
      source += text.replace(/\r\n?/g, '\n');
      if (frame === 0) frame = window.requestAnimationFrame(render);
    },
    /** Renders what is pending now (the reply ended, or its unheard part is about to be marked). */
    flush() {
      if (frame !== 0) render();
    },
    get text() {
      return source;
    },
  };
}
