// src/upstream/html-text.ts: the scans that read an HTML error page give exactly what the regular expressions
// they replaced gave (kept here as the oracle), on random tag soup; and a hostile page is read in one pass.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HTML_SCAN_CHARS, htmlToText, looksLikeHtml } from '../../src/upstream/html-text.js';
import { charactersSearched } from './search-count.js';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** The gateway's reading before (src/upstream/http-errors.ts up to the tenth pass). */
const oracle = {
  looksLikeHtml: (text: string): boolean => /<[a-z!/][^>]*>/i.test(text),
  htmlToText(html: string): string {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
    const source = title !== undefined && title.trim() !== '' ? title : html;
    return source
      .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_m, name: string) => ENTITIES[name] ?? ' ');
  },
};

const PIECES = [
  '<',
  '>',
  '/',
  '!',
  '<title>',
  '<TITLE x="1">',
  '</title>',
  '</TiTlE>',
  '<script>',
  '<SCRIPT src=a>',
  '</script>',
  '</Script>',
  '<style>',
  '<style media=x>',
  '</style>',
  '<scripts>',
  '<b>',
  '</b>',
  '<!-- c -->',
  '<!doctype html>',
  '<a',
  '<title',
  '<script',
  '&amp;',
  '&lt;',
  '&nbsp;',
  '&#39;',
  '&bogus;',
  'Bad Gateway',
  ' ',
  '\n',
  'x',
  'é',
  '🦒',
];
const soup = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((parts) => parts.join(''));

describe('html error pages', () => {
  it('reads random tag soup exactly as the regular expressions did', () => {
    fc.assert(
      fc.property(soup, (text) => {
        expect(looksLikeHtml(text)).toBe(oracle.looksLikeHtml(text));
        expect(htmlToText(text)).toBe(oracle.htmlToText(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a real page: its title, else its text without scripts and styles', () => {
    const head = '<html><head><style>body{color:red}</style><script>var x = "<b>";</script>';
    expect(htmlToText(`${head}<title>502 Bad Gateway</title></head><body>nginx</body></html>`)).toBe('502 Bad Gateway');
    expect(htmlToText(`${head}</head><body><h1>Bad&nbsp;Gateway</h1></body></html>`).trim()).toBe('Bad Gateway');
  });

  it('reads only the first HTML_SCAN_CHARS of a page', () => {
    const late = `${'x'.repeat(HTML_SCAN_CHARS)}<title>late</title>`;
    expect(htmlToText(`<b>${late}`)).not.toContain('late');
  });

  it('reads a page of unclosed tags in one pass: no search restarts from every `<`', () => {
    // A rescan from every `<` would look at about n² / 2 characters.
    const n = HTML_SCAN_CHARS;
    const looked = charactersSearched(() => {
      for (const page of ['<b>' + '<'.repeat(n), '<b>' + '<a'.repeat(n / 2), '<b>' + '<script>'.repeat(n / 8)]) {
        expect(looksLikeHtml(page)).toBe(true);
        htmlToText(page);
      }
    });
    expect(looked).toBeLessThan(20 * n);
  });
});
