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

describe('normaliseForSpeech: emphasis and escapes', () => {
  it('removes emphasis around text that starts or ends with punctuation', () => {
    expect(normaliseForSpeech('**(optional)** step')).toBe('(optional) step');
    expect(normaliseForSpeech('It is **50%** off')).toBe('It is 50% off');
    expect(normaliseForSpeech('*(note)* here')).toBe('(note) here');
    expect(normaliseForSpeech('~~(old)~~ new')).toBe('(old) new');
    expect(normaliseForSpeech('__(optional)__ step')).toBe('(optional) step');
    expect(normaliseForSpeech('_(note)_ here')).toBe('(note) here');
  });

  it('removes a single emphasis marker left unpaired by a segment cut', () => {
    expect(normaliseForSpeech('*This is italic. And')).toBe('This is italic. And');
    expect(normaliseForSpeech('so is this* too.')).toBe('so is this too.');
    expect(normaliseForSpeech('_This is it. And')).toBe('This is it. And');
    expect(normaliseForSpeech('so is this_ too.')).toBe('so is this too.');
  });

  it('keeps double underscores inside an identifier', () => {
    expect(normaliseForSpeech('Use my__var and page__2 and v2__x here')).toBe('Use my__var and page__2 and v2__x here');
  });

  it('unescapes backslash-escaped markdown characters', () => {
    expect(normaliseForSpeech('2 \\* 3 = 6 and \\# not a heading')).toBe('2 * 3 = 6 and # not a heading');
  });

  it('keeps a backslash before an ordinary letter, as in a Windows path', () => {
    expect(normaliseForSpeech('Open C:\\Users\\me now')).toBe('Open C:\\Users\\me now');
  });
});

describe('normaliseForSpeech: tidy-up', () => {
  it('reads a footnote marker as a separate word', () => {
    expect(normaliseForSpeech('as shown[1].')).toBe('as shown 1.');
  });

  it('removes a link target cut off by a segment break', () => {
    expect(normaliseForSpeech('Open [the docs](docs/intro')).toBe('Open the docs');
  });

  it('keeps words apart where an emoji in parentheses was removed', () => {
    expect(normaliseForSpeech('It was fun(🎉)and easy.')).toBe('It was fun and easy.');
  });

  it('drops empty parentheses, such as those of a function call', () => {
    expect(normaliseForSpeech('Call foo() now')).toBe('Call foo now');
  });

  it('drops the space an emoji leaves before the final punctuation', () => {
    expect(normaliseForSpeech('Well done 🎉!')).toBe('Well done!');
  });
});
