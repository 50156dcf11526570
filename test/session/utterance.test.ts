// The text rules of turn-taking: what counts as the same utterance, an extension of one, and a finished one.
import { describe, expect, it } from 'vitest';
import {
  endsLikeSentence,
  extendsUtterance,
  revisesUtterance,
  soundsComplete,
  utteranceKey,
} from '../../src/session/utterance.js';

describe('utterance rules', () => {
  it('compares words, not case, punctuation, spacing, curly quotes or leading and trailing fillers', () => {
    expect(utteranceKey('  Um, what’s the  WEATHER in Paris?? uh ')).toBe("what's the weather in paris");
    expect(utteranceKey('What time is it')).toBe(utteranceKey('what time is it.'));
    expect(utteranceKey('what time is it')).not.toBe(utteranceKey('what time is in'));
    expect(utteranceKey('um uh')).toBe('');
    expect(utteranceKey('Wie spät ist es?')).toBe('wie spät ist es');
  });

  it('an extension says every committed word, in order, and more', () => {
    expect(extendsUtterance('what is the weather', 'What is the weather in Paris?')).toBe(true);
    expect(extendsUtterance('what is the weather', 'what is the weather')).toBe(false);
    expect(extendsUtterance('what is the weather', 'what was the weather in Paris')).toBe(false);
    expect(extendsUtterance('um what is it', 'what is it now')).toBe(true);
  });

  it('a correction keeps the start and changes the end; a new utterance shares no such start', () => {
    expect(revisesUtterance('what is the weather in Paris', 'What is the weather in Berlin?')).toBe(true);
    expect(revisesUtterance('book a table for two', 'book a table for four people')).toBe(true);
    expect(revisesUtterance('what is the weather', 'What is the weather?')).toBe(false);
    expect(revisesUtterance('what is the weather in Paris', 'thanks')).toBe(false);
    expect(revisesUtterance('what is the weather in Paris', 'what time is it')).toBe(false);
    expect(revisesUtterance('what is the weather in Paris', 'what is the weather')).toBe(false);
    expect(revisesUtterance('set a timer', 'set a reminder for five')).toBe(false);
    expect(extendsUtterance('um', 'anything at all')).toBe(false);
  });

  it('an utterance ending on a conjunction, article, preposition or filler is not finished', () => {
    const unfinished = [
      'book a table and',
      'what is the',
      'I want to',
      'I want to.',
      'the weather um',
      'Hmm?',
      '...',
      '',
    ];
    for (const text of unfinished) expect(soundsComplete(text), text).toBe(false);
    for (const text of ['book a table for two', 'what is it for', 'I think so', 'thank you', 'Really?'])
      expect(soundsComplete(text), text).toBe(true);
  });

  it('a sentence end is a full stop, question or exclamation mark, also after a closing quote', () => {
    expect(endsLikeSentence('Is it "done?"')).toBe(true);
    expect(endsLikeSentence('Really!  ')).toBe(true);
    expect(endsLikeSentence('so, well')).toBe(false);
  });
});

describe('the page and the gateway read utterances alike', () => {
  it('public/utterance.js gives the same answers as src/session/utterance.ts', async () => {
    const page = (await import('../../public/utterance.js' as string)) as {
      sameUtterance: (a: string, b: string) => boolean;
      extendsUtterance: (a: string, b: string) => boolean;
    };
    const texts = [
      'what time is it',
      'What time is it?',
      'um what time is it uh',
      'what time is it in Paris',
      'what’s the weather',
      "What's the weather, please",
      'Wie spät ist es',
      '',
    ];
    for (const a of texts)
      for (const b of texts) {
        expect(page.sameUtterance(a, b), `${a} | ${b}`).toBe(utteranceKey(a) === utteranceKey(b));
        expect(page.extendsUtterance(a, b), `${a} | ${b}`).toBe(extendsUtterance(a, b));
      }
  });
});
