// What started each sample of a relay's CPU profile: a delta (the upstream's bytes, and the client frames they
// become), a turn (a client's frame, the upstream call it starts and the connection it may open, the reply's end),
// process start and connection set-up (outside a bench window), GC, or the socket writes. Per delta relayed, a
// turn's share is what longer replies would spread thinner; a delta's is paid whatever the reply's length.
// The same rules read the gateway and the floor relay (bench/floor-relay.ts), which share undici and ws.

/** The part of a profile node's call frame the rules read. */
export interface Frame {
  functionName: string;
  url: string;
}

export const GC_ORIGIN = 'garbage collection';
export const SOCKET_WRITES_ORIGIN = 'socket write syscalls';
export const SETUP_ORIGIN = 'process start and client connections (mostly outside the window)';
export const DELTA_ORIGIN = "a delta: the upstream's bytes, the client frames they become";
/** The origins that a turn starts, whatever its length: their sum is a turn's cost spread over its deltas. */
export const TURN_ORIGINS = [
  "a client's frame: turn start, barge-in, other events",
  "a turn's upstream call after its start: request written, retries",
  'upstream connections opened, refreshed or closed: warm-ups, connects, ends',
  "a reply's end after its body: settle, report",
] as const;
export const OTHER_ORIGIN = 'other: (program), timers, microtask queue';

/** The native stream-handle calls that make a socket write syscall (StreamBase's write methods). */
const SOCKET_WRITES = new Set([
  'writev',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
  'writeUcs2String',
]);

const inPackage = (f: Frame, path: string): boolean => f.url.includes(`/node_modules/${path}`);
/** A file of this project (not a dependency) whose URL matches `file`. */
export const isProjectUrl = (url: string, file: RegExp): boolean => !url.includes('/node_modules/') && file.test(url);
const isProject = (f: Frame, file: RegExp): boolean => isProjectUrl(f.url, file);

export const isGcFrame = (f: Frame): boolean => f.functionName === '(garbage collector)';
export const isSocketWriteFrame = (f: Frame): boolean => f.url === '' && SOCKET_WRITES.has(f.functionName);

/** A sample belongs to the first origin that any frame of its stack matches (the leaf's own for GC and writes). */
const RULES: [string, (f: Frame) => boolean][] = [
  [
    SETUP_ORIGIN,
    (f) =>
      f.url.startsWith('node:internal/modules/') ||
      f.url === 'node:_http_server' ||
      (f.url === 'node:net' && f.functionName === 'onconnection') ||
      inPackage(f, 'fastify/') ||
      inPackage(f, '@fastify/') ||
      inPackage(f, 'avvio/'),
  ],
  [TURN_ORIGINS[0], (f) => inPackage(f, 'ws/lib/receiver.js')],
  [
    DELTA_ORIGIN,
    (f) =>
      (f.functionName === 'onHttpSocketReadable' && inPackage(f, 'undici/')) ||
      (f.functionName === 'uncork' && isProject(f, /outbox\.[jt]s$/)),
  ],
  [
    TURN_ORIGINS[2],
    (f) =>
      isProject(f, /(connection-warmer|warm-up-request)\.[jt]s$/) ||
      (f.url === 'node:net' && ['internalConnect', 'afterConnect', 'lookupAndConnect'].includes(f.functionName)) ||
      // A socket's end (an upstream connection the server closed when idle, or a client's): not a reply's work.
      (f.functionName === 'onHttpSocketEnd' && inPackage(f, 'undici/')) ||
      (f.functionName === 'socketOnEnd' && inPackage(f, 'ws/')) ||
      f.functionName === 'endReadableNT',
  ],
  [TURN_ORIGINS[3], (f) => f.functionName === 'runSteps' && isProject(f, /response-run\.[jt]s$/)],
  [
    TURN_ORIGINS[1],
    (f) =>
      inPackage(f, 'undici/') || isProject(f, /(chat-client|concurrency-limiter|circuit-breaker|chat-attempt)\.[jt]s$/),
  ],
];

/** All origins, in the order a table lists them. */
export const ORIGINS: readonly string[] = [
  DELTA_ORIGIN,
  ...TURN_ORIGINS,
  GC_ORIGIN,
  SOCKET_WRITES_ORIGIN,
  SETUP_ORIGIN,
  OTHER_ORIGIN,
];

/** The origin of a sample, from its stack (innermost frame first). */
export function originOf(stack: readonly Frame[]): string {
  const leaf = stack[0];
  if (leaf !== undefined && isGcFrame(leaf)) return GC_ORIGIN;
  if (leaf !== undefined && isSocketWriteFrame(leaf)) return SOCKET_WRITES_ORIGIN;
  for (const [name, test] of RULES) if (stack.some(test)) return name;
  return OTHER_ORIGIN;
}
