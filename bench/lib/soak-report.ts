// The soak test's report: the servers' own accounting checked against what the clients saw, the summary JSON
// on stdout, the full report (--out) and the traces of the sessions that broke an invariant (--trace-dir).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SoakSession } from './soak-client.js';
import type { MemorySample, ServerAccounting } from './soak-gateways.js';
import type { SoakTotals } from './soak-state.js';

/** The run's settings, as they appear at the top of the report. */
export interface SoakSettings {
  sessions: number;
  turns: number;
  instances: number;
  redis: boolean;
  killRedisAtS: number | null;
  faultRate: number;
  bargeInRate: number;
  disconnectRate: number;
}

/**
 * The servers' own accounting must match: every response they created was settled (dropped sockets included).
 * Adds violations to `totals`, and sets settledUnseenAfterFailedResume.
 */
export function checkServerAccounting(totals: SoakTotals, accounting: ServerAccounting): void {
  const { serverSettled, serverActive } = accounting;
  // After a failed resume (only during a Redis outage) a client carries on in a fresh session; a turn it sent just
  // before the drop may still have been answered in the session it left, which it never sees again.
  const unseenAllowed = totals.resumeFailed.duringRedisOutage > 0 && serverSettled > totals.created;
  if (serverSettled !== totals.created && !unseenAllowed)
    totals.violations.push(`servers settled ${serverSettled} responses, clients saw ${totals.created} created`);
  totals.settledUnseenAfterFailedResume = unseenAllowed ? serverSettled - totals.created : 0;
  if (serverActive !== 0) totals.violations.push(`servers still have ${serverActive} active responses`);
}

export function buildReport(
  settings: SoakSettings,
  run: {
    startedAt: number;
    upstreamRequests: number;
    gatewayCount: number;
    totals: SoakTotals;
    memory: MemorySample[];
  },
  accounting: ServerAccounting,
) {
  const { totals, memory } = run;
  return {
    date: new Date().toISOString(),
    ...settings,
    durationS: Math.round((Date.now() - run.startedAt) / 100) / 10,
    upstreamRequests: run.upstreamRequests,
    serverSettled: accounting.serverSettled,
    processGauges: accounting.processGauges,
    ...totals,
    violationCount: totals.violations.length,
    memory: Array.from({ length: run.gatewayCount }, (_, i) => ({
      rss: {
        firstMiB: memory[0]?.rssMiB[i],
        maxMiB: Math.max(...memory.map((m) => m.rssMiB[i] ?? 0)),
        lastMiB: memory.at(-1)?.rssMiB[i],
      },
      heap: {
        firstMiB: memory[0]?.heapMiB[i],
        maxMiB: Math.max(...memory.map((m) => m.heapMiB[i] ?? 0)),
        lastMiB: memory.at(-1)?.heapMiB[i],
      },
    })),
  };
}

/** Prints the report (the first 40 violations), and writes --out and the violating sessions' traces. */
export function writeReport(
  report: ReturnType<typeof buildReport>,
  memory: MemorySample[],
  clients: SoakSession[],
  out: string | undefined,
  traceDir: string | undefined,
): void {
  const shown = { ...report, violations: report.violations.slice(0, 40) };
  console.log(JSON.stringify(shown, null, 2));
  if (out) writeFileSync(out, JSON.stringify({ ...report, memorySamples: memory }, null, 2));
  if (traceDir !== undefined) {
    mkdirSync(traceDir, { recursive: true });
    for (const client of clients)
      if (client.violated)
        writeFileSync(join(traceDir, `session-${client.index}.jsonl`), client.trace.join('\n') + '\n');
  }
}
