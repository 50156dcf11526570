// `--heap-sample allocated|promoted`: what a proxy's window allocated per delta, from V8's sampling heap profile
// (bench/heap-sampler.mjs writes one per phase), grouped by module, beside what V8's GC profiler saw the
// scavenges promote, and the table that sets the gateway beside the floor relay. `allocated` profiles every
// sampled object; `promoted` those no scavenge freed (the turn's working set, plus young garbage a mark-compact
// freed: heap-sampler.mjs). The GC profiler's promoted bytes are the exact total either way.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HeapSampleGc } from './messages.js';
import { fmt, row } from './report-format.js';

export type HeapSampleMode = 'allocated' | 'promoted';

export interface HeapSampleFigures {
  mode: HeapSampleMode;
  /** The profile (Chrome DevTools opens it: Memory → Load). */
  file: string;
  /** Sampled bytes over the window, divided by the content chunks clients received in it. */
  bytesPerDelta: number;
  /** The largest modules by the bytes their own code allocated (not their callees'), per delta. */
  byModule: { module: string; bytesPerDelta: number }[];
  /** The window's collections (GC profiler): counts, pauses, and the bytes scavenges promoted, per delta. */
  gc: HeapSampleGc & { promotedBytesPerDelta: number; pauseMsPerThousandDeltas: number };
}

/** The parts of a `.heapprofile` read here (Chrome DevTools' SamplingHeapProfile). */
interface HeapNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapNode[];
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where an allocation site belongs: a package (`undici`), a file of this build or another one
 * (`src/session/response-run.js`), a Node module (`node:internal/streams/writable`), or V8's name for the rest
 * (`(V8 API)`, `JSON.parse`…).
 */
export function moduleOf(frame: HeapNode['callFrame']): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return frame.functionName === '' ? '(anonymous)' : frame.functionName;
  // A package, not another build of this one kept under node_modules/.ab/ (--gateway-entry).
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/.][^/]*)\//.exec(url);
  if (inPackage !== null) return inPackage[1] as string;
  const path = url.startsWith(REPO) ? url.slice(REPO.length) : url;
  // dist/src/… and another build's src/… by the same name, so that an A/B lines up.
  return /(?:^|\/)((?:src|bench)\/.*)$/.exec(path)?.[1] ?? path;
}

export function summariseHeapSample(
  sample: { file: string; mode: HeapSampleMode; gc: HeapSampleGc },
  deltas: number,
  top = 12,
): HeapSampleFigures {
  const { file, mode, gc } = sample;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const byModule = new Map<string, number>();
  let total = 0;
  // Iterative: a deep stack must not overflow this process's.
  const stack: HeapNode[] = [profile.head];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.selfSize > 0) {
      const module = moduleOf(node.callFrame);
      byModule.set(module, (byModule.get(module) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    stack.push(...node.children);
  }
  const per = (bytes: number): number => (deltas > 0 ? bytes / deltas : 0);
  return {
    mode,
    file,
    bytesPerDelta: per(total),
    byModule: [...byModule]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, bytes]) => ({ module, bytesPerDelta: per(bytes) })),
    gc: { ...gc, promotedBytesPerDelta: per(gc.promotedBytes), pauseMsPerThousandDeltas: per(gc.pauseMs) * 1000 },
  };
}

/** One level's sampled proxies: the gateway, and the floor relay and the peer when they ran. */
export interface HeapSampleLevel {
  sessions: number;
  paths: { path: string; figures: HeapSampleFigures }[];
}

/** The sampled phases by level, in the order they ran; a path measured again (--rounds) is numbered. */
export function heapSampleLevels(
  phases: readonly { path: string; sessions: number; server: { heapSample: HeapSampleFigures | null } | null }[],
): HeapSampleLevel[] {
  const levels = new Map<number, HeapSampleLevel>();
  for (const phase of phases) {
    const figures = phase.server?.heapSample ?? null;
    if (figures === null) continue;
    const level = levels.get(phase.sessions) ?? { sessions: phase.sessions, paths: [] };
    levels.set(phase.sessions, level);
    const again = level.paths.filter((p) => p.path.split(' ')[0] === phase.path).length;
    level.paths.push({ path: again === 0 ? phase.path : `${phase.path} #${again + 1}`, figures });
  }
  return [...levels.values()];
}

/**
 * Bytes per delta by module, the proxies side by side: each one's top modules, with the others' bytes beside them
 * ("–": not among that proxy's top modules), under the GC profiler's figures.
 */
export function heapSampleTable(level: HeapSampleLevel): string {
  const { paths } = level;
  const modules = [...new Set(paths.flatMap((p) => p.figures.byModule.map((m) => m.module)))];
  const bytes = (figures: HeapSampleFigures, module: string): string => {
    const found = figures.byModule.find((m) => m.module === module);
    return found === undefined ? '–' : fmt(found.bytesPerDelta, 0);
  };
  const cells = (pick: (f: HeapSampleFigures) => string): string[] => paths.map((p) => pick(p.figures));
  const lines = [
    row(['bytes per delta', ...paths.map((p) => p.path)]),
    row(['---', ...paths.map(() => '---')]),
    row(['promoted by scavenges (GC profiler)', ...cells((f) => fmt(f.gc.promotedBytesPerDelta, 0))]),
    row(['scavenges / mark-compacts in the window', ...cells((f) => `${f.gc.scavenges} / ${f.gc.markCompacts}`)]),
    row(['GC pauses, ms per 1,000 deltas', ...cells((f) => fmt(f.gc.pauseMsPerThousandDeltas, 1))]),
    row([`all sampled (${paths[0]?.figures.mode ?? 'allocated'})`, ...cells((f) => fmt(f.bytesPerDelta, 0))]),
  ];
  for (const module of modules) lines.push(row([`\`${module}\``, ...paths.map((p) => bytes(p.figures, module))]));
  return lines.join('\n');
}
