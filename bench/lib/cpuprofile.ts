// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per module (a node_modules
// package, a project file, node's internals), busiest first, excluding (idle).

import { readFileSync } from 'node:fs';
import { isGcFrame, isProjectUrl, isSocketWriteFrame, originOf, ORIGINS } from './profile-origins.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of the non-idle time. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  durationMs: number;
  idleMs: number;
  busyMs: number;
  functions: ProfileEntry[];
  modules: ProfileEntry[];
  /** Busy time by part of the gateway's work (PARTS), every part listed. */
  parts: ProfileEntry[];
  /** Busy time by what started the work (profile-origins.ts), every origin listed. */
  origins: ProfileEntry[];
}

type Frame = ProfileNode['callFrame'];

/** The two parts every relay has, named for bench/lib/profile-compare.ts. */
export const GC_PART = 'garbage collection';
export const SOCKET_WRITES_PART = 'socket writes (the write and writev syscalls, sampled by wall clock)';

/**
 * Parts of the gateway's work. A sample belongs to the first part in this list that any frame of its stack
 * matches: GC and the write syscalls come first, so every socket write counts as a write whoever made it,
 * and the rest of a speech segment's stack counts as speech. A sample matching none goes to the part of the
 * innermost frame that matches any of MODULE_PARTS.
 */
const PARTS: [string, (frame: Frame) => boolean][] = [
  [GC_PART, isGcFrame],
  [SOCKET_WRITES_PART, isSocketWriteFrame],
  ['speech segmentation and its events', (f) => isProjectUrl(f.url, /\/speech\/|speech-track\.[jt]s$/)],
  [
    'turn start: turn-taking, history, request body, dispatch',
    (f) =>
      (f.functionName === 'takeTurn' && isProjectUrl(f.url, /voice\/connection\.[jt]s$/)) ||
      (f.functionName === 'launch' && isProjectUrl(f.url, /response-slot\.[jt]s$/)),
  ],
  [
    'barge-in: cancel, upstream socket destroyed',
    (f) =>
      (f.functionName === 'cancel' && isProjectUrl(f.url, /session\.[jt]s$/)) ||
      (f.functionName === 'interrupt' && isProjectUrl(f.url, /response-run\.[jt]s$/)),
  ],
  ['client frames: ws receive, validation, other events', (f) => f.url.includes('/node_modules/ws/lib/receiver.js')],
];
const MODULE_PARTS: [string, (frame: Frame) => boolean][] = [
  [
    'per-token protocol: session, event log, outbox',
    (f) => isProjectUrl(f.url, /(session|session-hosting|event-log|outbox|response-run)\.[jt]s$/),
  ],
  [
    'SSE decoding (sse-decoder.ts, UTF-8)',
    (f) =>
      isProjectUrl(f.url, /sse-decoder\.[jt]s$/) ||
      // The library the gateway used before its own decoder (profiles of older builds).
      f.url.includes('/eventsource-parser/') ||
      (f.functionName === 'decode' && (f.url === '' || f.url.startsWith('node:'))),
  ],
  [
    'upstream chunks: JSON.parse, chat events',
    (f) =>
      isProjectUrl(
        f.url,
        /(chat-attempt|chunk-reader|chat-client|sse-stream-reader|json-body-reader|error-body-reader|think-filter)\.[jt]s$/,
      ),
  ],
  ['undici: HTTP parsing and requests', (f) => f.url.includes('/node_modules/undici/')],
  ['ws: framing', (f) => f.url.includes('/node_modules/ws/')],
  ['Node internals: streams, net, timers, events', (f) => f.url.startsWith('node:')],
  [
    'fastify, pino, prom-client',
    (f) => /\/node_modules\/(fastify|@fastify|avvio|pino|sonic-boom|prom-client)\//.test(f.url),
  ],
];
const OTHER_PART = 'other (V8 builtins, (program), elsewhere)';

function partOf(stack: Frame[]): string {
  for (const [name, test] of PARTS) if (stack.some(test)) return name;
  for (const frame of stack) for (const [name, test] of MODULE_PARTS) if (test(frame)) return name;
  return OTHER_PART;
}

/** `file:///work/main/node_modules/ws/lib/sender.js` → `ws/lib/sender.js`; project files relative to the root. */
export function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  const project = path.search(/\/(dist\/src|src|bench)\//);
  return project >= 0 ? path.slice(project + 1) : path;
}

function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  if (url.startsWith('node:')) return 'node:internal';
  const short = shortUrl(url);
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = short.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return short;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // Each sample's time is the gap to the next one (the last sample gets the mean gap).
    const meanGap = (profile.endTime - profile.startTime) / samples.length;
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? meanGap));
    }
  } else {
    const gap =
      (profile.endTime - profile.startTime) /
      Math.max(
        1,
        profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0),
      );
    for (const node of profile.nodes) selfUs.set(node.id, (node.hitCount ?? 0) * gap);
  }
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  /** Innermost frame first. */
  const stackOf = (id: number): Frame[] => {
    const stack: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const node = byId.get(at);
      if (node !== undefined) stack.push(node.callFrame);
    }
    return stack;
  };
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  const parts = new Map<string, number>([...PARTS, ...MODULE_PARTS].map(([name]) => [name, 0]));
  const origins = new Map<string, number>(ORIGINS.map((name) => [name, 0]));
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = `${functionName || '(anonymous)'}${url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const mod = moduleOf(url, functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const stack = stackOf(id);
    const part = partOf(stack);
    parts.set(part, (parts.get(part) ?? 0) + us);
    const origin = originOf(stack);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const share = (us: number) => ({ selfMs: us / 1000, percent: busyUs > 0 ? (100 * us) / busyUs : 0 });
  const rank = (map: Map<string, number>, limit = top): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ...share(us) }));
  return {
    file,
    durationMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: rank(functions),
    modules: rank(modules),
    parts: rank(parts, parts.size),
    // In ORIGINS' order, not ranked: a table reads them as a delta's, then a turn's, then the rest.
    origins: ORIGINS.map((name) => ({ name, ...share(origins.get(name) ?? 0) })),
  };
}

export function profileTable(summary: ProfileSummary, top = 20): string {
  const lines = [
    `Profile ${summary.file}: ${(summary.durationMs / 1000).toFixed(1)} s sampled, busy ${(summary.busyMs / 1000).toFixed(1)} s (${((100 * summary.busyMs) / Math.max(1, summary.durationMs)).toFixed(0)} %)`,
    '',
    '| # | self ms | % of busy | function (file:line) |',
    '| --- | --- | --- | --- |',
    ...summary.functions
      .slice(0, top)
      .map((f, i) => `| ${i + 1} | ${f.selfMs.toFixed(0)} | ${f.percent.toFixed(1)} | \`${f.name}\` |`),
    '',
    '| self ms | % of busy | module |',
    '| --- | --- | --- |',
    ...summary.modules.slice(0, 15).map((m) => `| ${m.selfMs.toFixed(0)} | ${m.percent.toFixed(1)} | \`${m.name}\` |`),
    '',
    '| ms (with callees) | % of busy | part of the work |',
    '| --- | --- | --- |',
    ...summary.parts.map((p) => `| ${p.selfMs.toFixed(0)} | ${p.percent.toFixed(1)} | ${p.name} |`),
  ];
  return lines.join('\n');
}
