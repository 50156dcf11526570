// What the voice says for block-level markdown: code fences, quotes, headings, list items, rules and tables.
import { describe, it, expect } from 'vitest';
import { CODE_BLOCK_NOTE, normaliseForSpeech } from '../../src/speech/normalise.js';

const NOTE = CODE_BLOCK_NOTE;

describe('normaliseForSpeech: code fences', () => {
  it('speaks backticks in the middle of a line as prose, not as the start of a code block', () => {
    expect(normaliseForSpeech('Type ``` to start a block. Then more.')).toBe('Type to start a block. Then more.');
  });

  it('treats a fence indented by up to three spaces as a fence', () => {
    expect(normaliseForSpeech('Like this:\n   ```\ncode here\n   ```\nDone.')).toBe(`Like this: ${NOTE} Done.`);
  });

  it('speaks a line starting with a single tilde as prose', () => {
    expect(normaliseForSpeech('~20 minutes, roughly.\nThen we eat.')).toBe('~20 minutes, roughly. Then we eat.');
  });

  it('does not close a backtick fence with a tilde line', () => {
    expect(normaliseForSpeech('```\n~~~\nstill code\n```\nAfter.')).toBe(`${NOTE} After.`);
  });

  it('does not close a tilde fence with a backtick line', () => {
    expect(normaliseForSpeech('~~~\n```\nstill code\n~~~\nAfter.')).toBe(`${NOTE} After.`);
  });

  it('does not close a fence with a shorter run of the same character', () => {
    expect(normaliseForSpeech('````\n```\nstill code\n````\nAfter.')).toBe(`${NOTE} After.`);
  });

  it('does not close a fence with a line that has text after the run', () => {
    expect(normaliseForSpeech('```\n```js\nstill code\n```\nAfter.')).toBe(`${NOTE} After.`);
  });

  it('closes a fence with a longer run or one surrounded by spaces', () => {
    expect(normaliseForSpeech('```\ncode\n`````\nOne.')).toBe(`${NOTE} One.`);
    expect(normaliseForSpeech('```\ncode\n  ```  \nTwo.')).toBe(`${NOTE} Two.`);
  });

  it('speaks one note per code block', () => {
    expect(normaliseForSpeech('First:\n```\na\n```\nSecond:\n~~~py\nb\n~~~\nEnd.')).toBe(
      `First: ${NOTE} Second: ${NOTE} End.`,
    );
  });
});

describe('normaliseForSpeech: quotes and headings', () => {
  it('removes every level of a nested blockquote', () => {
    expect(normaliseForSpeech('> > Nested quote.\n>> Tight nesting.')).toBe('Nested quote. Tight nesting.');
  });

  it('removes a quote marker that has no space after it', () => {
    expect(normaliseForSpeech('>Quote without a space.')).toBe('Quote without a space.');
  });

  it('keeps a # inside a sentence: "C#" is not a heading', () => {
    expect(normaliseForSpeech('C# and F# are languages')).toBe('C# and F# are languages');
  });

  it('removes heading markers of every level up to six', () => {
    expect(normaliseForSpeech('## Section two\n###### Deepest')).toBe('Section two. Deepest.');
  });

  it('says nothing for an empty heading line', () => {
    expect(normaliseForSpeech('Intro.\n#\nMore.')).toBe('Intro. More.');
  });

  it('removes closing hashes of a heading but keeps a # that belongs to the text', () => {
    expect(normaliseForSpeech('## Title ##')).toBe('Title.');
    expect(normaliseForSpeech('# Learning C#')).toBe('Learning C#.');
    expect(normaliseForSpeech('## Fixes for issue #15')).toBe('Fixes for issue #15.');
    expect(normaliseForSpeech('## Step # 2 of 3')).toBe('Step # 2 of 3.');
  });
});

describe('normaliseForSpeech: list items and rules', () => {
  it('removes list numbers with more than one digit', () => {
    expect(normaliseForSpeech('10. tenth item\n11) eleventh item')).toBe('tenth item. eleventh item.');
  });

  it('drops horizontal rules between paragraphs, spaced or not', () => {
    expect(normaliseForSpeech('Before.\n---\n* * *\n___\n===\n- - -\nAfter.')).toBe('Before. After.');
  });

  it('does not drop a line that starts or ends with a rule-like run', () => {
    expect(normaliseForSpeech('***Important*** news')).toBe('Important news');
    expect(normaliseForSpeech('So ***bold and italic***')).toBe('So bold and italic');
  });

  it('keeps a lone rule character, which is not a rule', () => {
    expect(normaliseForSpeech('One\n*\nTwo\n=\nThree\n_\nFour\n-\nFive')).toBe('One * Two = Three _ Four - Five');
  });

  it('adds a pause after a list item that ends in a number with a dot inside', () => {
    expect(normaliseForSpeech('- Version 2.0\n- Node 20')).toBe('Version 2.0. Node 20.');
  });
});

describe('normaliseForSpeech: tables', () => {
  it('reads a table without outer pipes when it has at least three columns', () => {
    expect(normaliseForSpeech('Name | Age | City\n--- | --- | ---\nBob | 42 | Oslo')).toBe(
      'Name, Age, City. Bob, 42, Oslo.',
    );
  });

  it('reads one-column rows that only start with a pipe, indented or not', () => {
    expect(normaliseForSpeech('| Fruit\n| Apple\n  | Pear')).toBe('Fruit. Apple. Pear.');
  });

  it('skips empty cells', () => {
    expect(normaliseForSpeech('| Name | Notes |\n|---|---|\n| Bob |  |\n|  |  |')).toBe('Name, Notes. Bob.');
  });

  it('reads a dash in a cell, meaning "none", as part of the row', () => {
    expect(normaliseForSpeech('| Name | Score |\n|---|---|\n| Bob | - |\n| - | 5 |')).toBe(
      'Name, Score. Bob, -. -, 5.',
    );
  });

  it('keeps a sentence that has both a pipe and a dash', () => {
    expect(normaliseForSpeech('Choose red | blue - or both.')).toBe('Choose red blue - or both.');
  });

  it('treats a single pipe inside a sentence as prose, not a table row', () => {
    expect(normaliseForSpeech('Use a | b for either.')).toBe('Use a b for either.');
  });
});
