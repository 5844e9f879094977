/** fast-check generators for valid messages (shared by the codec property and fuzz tests). */
import fc from 'fast-check';
import type { JsonValue, Message } from '../message.js';

const lower = 'abcdefghijklmnopqrstuvwxyz';
const upper = lower.toUpperCase();
const digits = '0123456789';

function word(first: string, rest: string, maxLength = 12): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...rest), maxLength: maxLength - 1 }))
    .map(([a, b]) => a + b);
}

export const paramName = word(`${lower}${upper}_`, `${lower}${upper}${digits}_`);
export const commandName = word(`${upper}_`, `${upper}${digits}_`);
const plainName = word(`${lower}${upper}_`, `${lower}${upper}${digits}_`);
export const serverName = fc.oneof(fc.constant(''), fc.constantFrom('.', '*', '?'), plainName);
export const serviceName = fc.oneof(
  fc.constant(''),
  fc.constantFrom('.', '*', '?'),
  plainName,
  fc
    .tuple(plainName, fc.string({ unit: fc.constantFrom(...`${lower}${digits}_`), minLength: 1, maxLength: 4 }))
    .map(([n, i]) => `${n}#${i}`),
);

/** Strings rich in the characters the text form treats specially. */
export const trickyString = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(';', '"', '\\', '\n', '\r', ' ', '\t', '=', '/', ':', '<', 'n', 'r', '{') },
    { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 24,
});

function messageOf(value: fc.Arbitrary<JsonValue>): fc.Arbitrary<Message> {
  return fc.record(
    {
      sentFrom: fc.record({ server: serverName, service: serviceName }, { noNullPrototype: true }),
      to: fc.tuple(serverName, serviceName).map(([server, service]) => ({ server: service ? server : '', service })),
      command: commandName,
      params: fc.dictionary(paramName, value, { maxKeys: 6, noNullPrototype: true }),
    },
    { noNullPrototype: true },
  );
}

/** Messages the text form carries without loss: string parameters, no server without a service. */
export const textMessage = messageOf(trickyString);
/** Messages with typed parameters for the JSON form (-0 is not JSON, so it is left out). */
export const jsonMessage = messageOf(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue),
);
