// What the voice says for inline markdown: code spans, links, HTML, emphasis, and the final tidy-up.
import { describe, it, expect } from 'vitest';
import { normaliseForSpeech } from '../../src/speech/normalise.js';

describe('normaliseForSpeech: code spans', () => {
  it('keeps a double-backtick code span joined to the word after it', () => {
    expect(normaliseForSpeech("``npm``'s cache is full")).toBe("npm's cache is full");
  });
});

describe('normaliseForSpeech: links, images and HTML', () => {
  it('reads a link that has a title as its text only', () => {
    expect(normaliseForSpeech('See [the guide](https://x.io "Guide title") now.')).toBe('See the guide now.');
  });

  it('reads a reference-style link as its text, not its label', () => {
    expect(normaliseForSpeech('Read [the guide][docs] now.')).toBe('Read the guide now.');
    expect(normaliseForSpeech('Read [the guide][] now.')).toBe('Read the guide now.');
  });

  it('reads an image with a title as its alt text', () => {
    expect(normaliseForSpeech('Image ![a cat](cat.png "Cat") here')).toBe('Image a cat here');
  });

  it('removes HTML tags that have attributes', () => {
    expect(normaliseForSpeech('Click <a href="/x" class="y">here</a> now')).toBe('Click here now');
  });
});

describe('normaliseForSpeech: tidy-up', () => {
  it('drops empty parentheses, such as those of a function call', () => {
    expect(normaliseForSpeech('Call foo() now')).toBe('Call foo now');
  });

  it('drops the space an emoji leaves before the final punctuation', () => {
    expect(normaliseForSpeech('Well done 🎉!')).toBe('Well done!');
  });
});
