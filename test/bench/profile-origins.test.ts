// bench/lib/profile-origins.ts through the profile summary and the per-delta comparison: each sample counted once,
// by what started it (a delta, a turn's events, set-up, GC, writes), for the gateway's stacks and the floor
// relay's alike. A hand-built profile: every stack and sample time is known, so every figure is exact.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeProfile } from '../../bench/lib/cpuprofile.js';
import { compareProfiles, comparisonTable } from '../../bench/lib/profile-compare.js';
import { DELTA_ORIGIN, ORIGINS, TURN_ORIGINS } from '../../bench/lib/profile-origins.js';

const dir = mkdtempSync(join(tmpdir(), 'profile-origins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Call = [functionName: string, url?: string];
const src = (file: string): string => `file:///srv/gateway/dist/src/${file}`;
const pkg = (file: string): string => `file:///srv/gateway/node_modules/${file}`;
const UPSTREAM_READABLE: Call[] = [
  ['processTicksAndRejections', 'node:internal/process/task_queues'],
  ['emitReadable_', 'node:internal/streams/readable'],
  ['onHttpSocketReadable', pkg('undici/lib/dispatcher/client-h1.js')],
];
const CLIENT_FRAME: Call[] = [
  ['socketOnData', pkg('ws/lib/websocket.js')],
  ['startLoop', pkg('ws/lib/receiver.js')],
];

/** A .cpuprofile whose samples are these stacks (outermost call first), each lasting its milliseconds. */
function profileOf(samplesMs: [Call[], number][]): string {
  const nodes: { id: number; callFrame: object; children: number[] }[] = [];
  const node = (call: Call) => {
    nodes.push({
      id: nodes.length + 1,
      callFrame: { functionName: call[0], url: call[1] ?? '', lineNumber: 0, columnNumber: 0, scriptId: '0' },
      children: [],
    });
    return nodes.at(-1)!;
  };
  const root = node(['(root)']);
  const samples: number[] = [];
  const timeDeltas: number[] = [0];
  for (const [stack, ms] of [...samplesMs, [[['(idle)']], 1] as [Call[], number]]) {
    let at = root;
    for (const call of stack) {
      const child = nodes.find(
        (n) => at.children.includes(n.id) && JSON.stringify(n.callFrame).includes(`"${call[0]}"`),
      );
      at = child ?? (at.children.push(nodes.length + 1), node(call));
    }
    samples.push(at.id);
    timeDeltas.push(ms * 1000);
  }
  timeDeltas.pop(); // sample i lasts timeDeltas[i + 1]; the last (idle) one gets the mean gap
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.cpuprofile`);
  const endTime = samples.length * 1000; // a mean gap of 1 ms: the idle sample's
  writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime, samples, timeDeltas }));
  return file;
}

const gatewayProfile = profileOf([
  [[...UPSTREAM_READABLE, ['onResponseData', src('upstream/chat-attempt.js')]], 30],
  [[['runMicrotasks'], ['uncork', src('hosting/outbox.js')], ['writev']], 25],
  [[['runMicrotasks'], ['uncork', src('hosting/outbox.js')]], 2],
  [
    [
      ...CLIENT_FRAME,
      ['takeTurn', src('transports/voice/connection.js')],
      ['dispatch', pkg('undici/lib/dispatcher/pool-base.js')],
    ],
    9,
  ],
  [
    [
      ['processImmediate', 'node:internal/timers'],
      ['_resume', pkg('undici/lib/dispatcher/client.js')],
    ],
    3,
  ],
  [[['runMicrotasks'], ['stream', src('upstream/chat-client.js')]], 4],
  [
    [
      ['listOnTimeout', 'node:internal/timers'],
      ['refresh', src('upstream/connection-warmer.js')],
    ],
    5,
  ],
  [[['internalConnect', 'node:net']], 6],
  // An idle upstream connection the server closed: a connection's end, not the reply's.
  [
    [
      ['endReadableNT', 'node:internal/streams/readable'],
      ['onHttpSocketEnd', pkg('undici/lib/dispatcher/client-h1.js')],
    ],
    2,
  ],
  [[['runMicrotasks'], ['runSteps', src('session/response-run.js')], ['settle', src('session/response-run.js')]], 7],
  [[['(garbage collector)']], 8],
  [
    [
      ['run', 'node:internal/modules/esm/module_job'],
      ['compile', 'node:internal/modules/esm/utils'],
    ],
    10,
  ],
  [[['onconnection', 'node:net']], 11],
  [[['(program)']], 12],
]);
const floorProfile = profileOf([
  [[...UPSTREAM_READABLE, ['readContents', 'file:///srv/gateway/bench/lib/floor-sse.ts'], ['writev']], 20],
  [[...UPSTREAM_READABLE, ['readContents', 'file:///srv/gateway/bench/lib/floor-sse.ts']], 15],
  [[...CLIENT_FRAME, ['(anonymous)', 'file:///srv/gateway/bench/floor-relay.ts']], 4],
  [[['(garbage collector)']], 3],
]);

describe('what started the work', () => {
  it('counts each sample once, by the first rule its stack matches, every origin listed in order', () => {
    const summary = summarizeProfile(gatewayProfile);
    const ms = (name: string) => summary.origins.find((o) => o.name === name)?.selfMs;
    expect(summary.origins.map((o) => o.name)).toEqual(ORIGINS);
    expect(ms(DELTA_ORIGIN)).toBe(30 + 2); // the upstream's bytes, and the uncork less its write
    expect(ms('socket write syscalls')).toBe(25); // a write is a write, whatever started it
    // A turn's events: undici's dispatch inside a client's frame is the frame's; undici alone is the upstream call.
    expect(ms(TURN_ORIGINS[0])).toBe(9);
    expect(ms(TURN_ORIGINS[1])).toBe(3 + 4);
    expect(ms(TURN_ORIGINS[2])).toBe(5 + 6 + 2);
    expect(ms(TURN_ORIGINS[3])).toBe(7);
    expect(ms('garbage collection')).toBe(8);
    expect(ms('process start and client connections (mostly outside the window)')).toBe(10 + 11);
    expect(ms('other: (program), timers, microtask queue')).toBe(12);
    expect(summary.origins.reduce((sum, o) => sum + o.selfMs, 0)).toBe(summary.busyMs);
  });

  it("reads the floor relay's stacks by the same rules, and puts a turn's work together per delta", () => {
    const gateway = summarizeProfile(gatewayProfile);
    const floor = summarizeProfile(floorProfile);
    const table = comparisonTable(compareProfiles({ summary: gateway, deltas: 1000 }, { summary: floor, deltas: 500 }));
    // µs per delta: the floor's 15 ms of reading over 500 deltas is 30; its frame handler 4 ms is 8.
    expect(table).toContain(`| ${DELTA_ORIGIN} | 32.0 | 30.0 | +2.0 |`);
    expect(table).toContain(`| ${TURN_ORIGINS[0]} | 9.0 | 8.0 | +1.0 |`);
    expect(table).toContain('| socket write syscalls | 25.0 | 40.0 | -15.0 |');
    expect(table).toMatch(/\| \*\*a turn's work together\*\*[^|]* \| 36\.0 \| 8\.0 \| \+28\.0 \|/);
  });
});
