// `--heap-sample allocated|promoted`: what a proxy's window allocated per delta, from V8's sampling heap profile
// (bench/gateway-probe.mjs writes one per phase), grouped by module, and the table that sets the gateway beside
// the floor relay. `allocated` counts every sampled object; `promoted` only those no young-generation collection
// freed: the turn's working set and whatever else a scavenge has to copy, which is what its pauses cost.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
}

/** The parts of a `.heapprofile` read here (Chrome DevTools' SamplingHeapProfile). */
interface HeapNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapNode[];
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where an allocation site belongs: a package (`undici`), a repository file (`dist/src/session/response-run.js`), a
 * Node module (`node:internal/streams/writable`), or V8's name for the rest (`(V8 API)`, `JSON.parse`…).
 */
export function moduleOf(frame: HeapNode['callFrame']): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return frame.functionName === '' ? '(anonymous)' : frame.functionName;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inPackage !== null) return inPackage[1] as string;
  return url.startsWith(REPO) ? url.slice(REPO.length) : url;
}

export function summariseHeapSample(file: string, mode: HeapSampleMode, deltas: number, top = 12): HeapSampleFigures {
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

/** Bytes per delta by module, the proxies side by side; each one's top modules, the others' bytes beside them. */
export function heapSampleTable(level: HeapSampleLevel): string {
  const { paths } = level;
  const modules = [...new Set(paths.flatMap((p) => p.figures.byModule.map((m) => m.module)))];
  const bytes = (figures: HeapSampleFigures, module: string): string => {
    const found = figures.byModule.find((m) => m.module === module);
    return found === undefined ? '–' : fmt(found.bytesPerDelta, 0);
  };
  const lines = [
    row(['bytes per delta', ...paths.map((p) => p.path)]),
    row(['---', ...paths.map(() => '---')]),
    row(['all sampled', ...paths.map((p) => fmt(p.figures.bytesPerDelta, 0))]),
  ];
  for (const module of modules) lines.push(row([`\`${module}\``, ...paths.map((p) => bytes(p.figures, module))]));
  return lines.join('\n');
}
