// The words of an HTML error page (a proxy's or a load balancer's 502): its <title>, else its text without tags,
// scripts and styles. Plain scans, not the regular expressions they replaced (`/<[^>]*>/g` and the like), which
// rescanned to the end of the page from every `<`: a hostile 64 KB page of unclosed `<` took 1–2 s of CPU, the
// event loop of every session blocked meanwhile. Each search here starts where the last one ended. Only the first
// HTML_SCAN_CHARS are read: a client sees 300 characters of the message, and a page's title comes first.

export const HTML_SCAN_CHARS = 16 * 1024;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** The index of the first match of `pattern` (global, no backtracking: a fixed word) at or after `from`, or -1. */
function indexOfPattern(text: string, pattern: RegExp, from: number): number {
  pattern.lastIndex = from;
  return pattern.exec(text)?.index ?? -1;
}

/** Whether `text` holds a tag: a `<` followed by a letter, `!` or `/`, and a `>` somewhere after them. */
export function looksLikeHtml(text: string): boolean {
  const lt = indexOfPattern(text, /<[a-z!/]/gi, 0);
  // A later `<x` cannot find a `>` that the first one did not.
  return lt >= 0 && text.indexOf('>', lt + 2) >= 0;
}

/** The page's title (when it has a non-blank one), else its text; tags become spaces, entities characters. */
export function htmlToText(page: string): string {
  const html = page.slice(0, HTML_SCAN_CHARS);
  const title = titleOf(html);
  const source = title !== undefined && title.trim() !== '' ? title : html;
  return withoutTags(withoutBlocks(source)).replace(
    /&(amp|lt|gt|quot|apos|nbsp|#39);/g,
    (_m, name: string) => ENTITIES[name] ?? ' ',
  );
}

/** `<title …>` … `</title>`: the first title tag decides (a later one has no more `>` or `</title>` after it). */
function titleOf(html: string): string | undefined {
  const open = indexOfPattern(html, /<title/gi, 0);
  if (open < 0) return undefined;
  const gt = html.indexOf('>', open + 6);
  if (gt < 0) return undefined;
  const close = indexOfPattern(html, /<\/title>/gi, gt + 1);
  return close < 0 ? undefined : html.slice(gt + 1, close);
}

/** Each `<script …>…</script>` and `<style …>…</style>` as a space. */
function withoutBlocks(html: string): string {
  const opening = /<(script|style)/gi;
  const closing = { script: /<\/script>/gi, style: /<\/style>/gi };
  /** Kinds with no closing tag left: a later opening of that kind cannot close either. */
  const unclosed = new Set<string>();
  let out = '';
  let copied = 0;
  let from = 0;
  for (;;) {
    const at = indexOfPattern(html, opening, from);
    if (at < 0) break;
    const kind = html
      .slice(at + 1, at + 7)
      .toLowerCase()
      .startsWith('script')
      ? 'script'
      : 'style';
    from = at + 1;
    if (unclosed.has(kind)) continue;
    const gt = html.indexOf('>', at + 1 + kind.length);
    if (gt < 0) break; // no `>` at all from here: no block can open
    const close = indexOfPattern(html, closing[kind], gt + 1);
    if (close < 0) {
      unclosed.add(kind);
      continue;
    }
    out += `${html.slice(copied, at)} `;
    copied = from = close + kind.length + 3;
  }
  return out + html.slice(copied);
}

/** Each `<…>` as a space; a `<` with no `>` after it stays text. */
function withoutTags(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lt = text.indexOf('<', at);
    const gt = lt < 0 ? -1 : text.indexOf('>', lt + 1);
    if (gt < 0) return out + text.slice(at);
    out += `${text.slice(at, lt)} `;
    at = gt + 1;
  }
}
