// What the simulated users say: spoken questions and commands for a voice assistant, filled from slot lists,
// plus second clauses ("and then …") for longer turns, and the words a recognizer mishears. A few templates
// ask for the time or arithmetic, which the simulator answers with a tool call (src/simulator/tool-intents.ts).

import type { Prng } from './prng.js';

const SLOTS: Readonly<Record<string, readonly string[]>> = {
  city: ['Paris', 'London', 'Berlin', 'Tokyo', 'Madrid', 'Chicago', 'Toronto', 'Sydney', 'Dublin', 'Lisbon', 'Rome'],
  when: ['tomorrow', 'tonight', 'this weekend', 'on Friday', 'next week', 'tomorrow morning', 'on Sunday'],
  minutes: ['five', 'ten', 'fifteen', 'twenty', 'thirty', 'forty five'],
  task: [
    'call my mother',
    'water the plants',
    'pick up the dry cleaning',
    'pay the electricity bill',
    'book a dentist appointment',
    'buy milk on the way home',
    'send the report to Anna',
  ],
  howto: [
    'make a good risotto',
    'change a flat tyre',
    'reset my router',
    'get red wine out of a carpet',
    'fall asleep faster',
    'start running again',
    'write a cover letter',
  ],
  genre: ['jazz', 'classical', 'rock', 'country', 'reggae', 'piano'],
  animal: ['cats', 'penguins', 'dogs', 'giraffes', 'octopuses'],
  room: ['kitchen', 'living room', 'bedroom', 'hallway', 'garage'],
  item: ['eggs', 'olive oil', 'bananas', 'coffee beans', 'toilet paper', 'fresh basil'],
  cuisine: ['Thai', 'Italian', 'Mexican', 'Japanese', 'Indian', 'vegetarian'],
  sport: ['basketball', 'football', 'hockey', 'baseball', 'rugby'],
  language: ['Spanish', 'French', 'German', 'Japanese', 'Italian'],
  person: ['Sam', 'my sister', 'Alex', 'the team', 'Priya', 'my landlord'],
  food: ['an avocado', 'a banana', 'a bowl of ramen', 'a slice of pizza', 'a glass of orange juice'],
  thing: ['a heat pump', 'compound interest', 'a vaccine', 'the stock market', 'a solar panel', 'an electric car'],
  num: ['twelve', 'seven', 'eighteen', 'forty', 'sixty', 'nine', 'twenty five', 'thirteen'],
  square: ['sixty four', 'eighty one', 'forty nine', 'thirty six'],
};

const TEMPLATES: readonly string[] = [
  'what is the weather going to be like in {city} {when}',
  "what's the weather like in {city} {when}",
  'is it going to rain in {city} {when}',
  'set a timer for {minutes} minutes',
  'remind me to {task} {when}',
  'how do I {howto}',
  'play some {genre} music in the {room}',
  'tell me a joke about {animal}',
  'turn off the lights in the {room}',
  'add {item} to my shopping list',
  'can you recommend a good {cuisine} restaurant near me',
  'who won the {sport} game last night',
  'how do you say good morning in {language}',
  "what's on my calendar {when}",
  "send a message to {person} saying I'm running late",
  'how many calories are in {food}',
  'can you explain how {thing} works',
  'how long does it take to fly from {city} to {city}',
];

/** Asked with the built-in tools on offer, the simulator calls get_current_time or calculate for these. */
const TOOL_TEMPLATES: readonly string[] = [
  'what time is it in {city}',
  'what is {num} times {num}',
  'what is the square root of {square}',
  'what is {num} plus {num}',
];

const CONTINUATIONS: readonly string[] = [
  'and remind me to {task}',
  'and then play some {genre} music',
  'and add {item} to my shopping list',
  "and tell {person} I'm on my way",
  'and what should I wear',
  'and how long will it take to get there',
];

/** Words a recognizer writes first and then revises (the interim shows the left one, the final the right). */
const MISHEARD: Readonly<Record<string, string>> = {
  weather: 'whether',
  for: 'four',
  to: 'two',
  there: 'their',
  buy: 'by',
  way: 'weigh',
  new: 'knew',
  week: 'weak',
  night: 'knight',
  some: 'sum',
  rain: 'reign',
  in: 'and',
  the: 'a',
  my: 'mine',
  make: 'made',
  call: 'cold',
  lights: 'likes',
  set: 'said',
  timer: 'time',
  read: 'red',
};
const FALLBACK_MISHEARD: readonly string[] = ['then', 'it', 'is', 'on', 'at', 'was', 'fine', 'and'];

/** Words a paused speaker often stops on before going on. Some sound finished to the gateway's heuristic, some do not. */
export const PAUSE_WORDS: ReadonlySet<string> = new Set(['and', 'the', 'to', 'a', 'my', 'of', 'in', 'for', 'about']);

export interface Utterance {
  /** The first clause, complete on its own. */
  clause: string[];
  /** The "and …" clause, empty when the utterance has one. */
  continuation: string[];
  /** Asks for the time or arithmetic: the simulator answers with a server tool call. */
  tool: boolean;
}

function fill(rng: Prng, template: string): string {
  return template.replace(/\{(\w+)\}/g, (_match, slot: string) => rng.pick(SLOTS[slot] ?? [slot]));
}

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

/** One utterance: a tool question (`toolShare` of them), else a question or command, sometimes with a second clause. */
export function utterance(rng: Prng, options: { toolShare: number; continuation: boolean }): Utterance {
  const tool = rng.chance(options.toolShare);
  const clause = words(fill(rng, rng.pick(tool ? TOOL_TEMPLATES : TEMPLATES)));
  if (!tool && rng.chance(0.12)) clause.unshift(rng.pick(['okay', 'hey', 'so']));
  const continuation = options.continuation && !tool ? words(fill(rng, rng.pick(CONTINUATIONS))) : [];
  return { clause, continuation, tool };
}

/** What the recognizer might have written before it settled on `word`. */
export function misheard(rng: Prng, word: string): string {
  const known = MISHEARD[word.toLowerCase()];
  if (known !== undefined) return known;
  let wrong = rng.pick(FALLBACK_MISHEARD);
  if (wrong === word.toLowerCase()) wrong = 'so';
  return wrong;
}

/** A different last word for a final the recognizer changed at the end: a slot value of the same kind if there is one. */
export function changedLastWord(rng: Prng, word: string): string {
  const lower = word.toLowerCase();
  const list = Object.values(SLOTS).find((values) => values.some((value) => words(value).at(-1) === word));
  const candidates = (list ?? []).map((value) => words(value).at(-1)!).filter((w) => w.toLowerCase() !== lower);
  if (candidates.length > 0) return rng.pick(candidates);
  return MISHEARD[lower] ?? (lower.endsWith('s') ? lower.slice(0, -1) : `${lower}s`);
}
