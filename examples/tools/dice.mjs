// An example operator tool module. Start the gateway with TOOLS_MODULE=examples/tools/dice.mjs and the model
// can roll dice. A module exports `tools`: an array of { name, description, parameters, execute }.
// `parameters` is a JSON Schema for the arguments object; the gateway validates arguments before execute runs.
// `execute(args, { signal, sessionId })` may be async, should honour `signal` (it aborts on barge-in and on
// timeout), and returns a string or any JSON value. A `text` field is a good place for a sentence to speak.

export const tools = [
  {
    name: 'roll_dice',
    description: 'Roll one or more dice with the given number of sides and return each roll and the total.',
    parameters: {
      type: 'object',
      properties: {
        count: { type: 'integer', minimum: 1, maximum: 20, description: 'How many dice to roll' },
        sides: { type: 'integer', minimum: 2, maximum: 1000, description: 'Sides per die, e.g. 6' },
      },
      required: ['sides'],
      additionalProperties: false,
    },
    timeoutMs: 1000,
    execute({ count = 1, sides }) {
      const rolls = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * sides));
      const total = rolls.reduce((a, b) => a + b, 0);
      return { rolls, total, text: `You rolled ${rolls.join(', ')}${count > 1 ? `, for a total of ${total}` : ''}.` };
    },
  },
];
