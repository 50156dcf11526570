// The probe's `--heap-sample` (bench/gateway-probe.mjs): over one measurement window, V8's sampling heap profiler
// (which module allocated what, written to a `.heapprofile`) and V8's GC profiler (what the young-generation
// collections actually promoted, and the pauses). The profile attributes; the GC profiler's bytes are the total.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';

/** Bytes between two samples: fine enough for a 20 s window, light enough to keep the load. */
const SAMPLING_INTERVAL = 8192;
const MINOR_GC = new Set(['Scavenge', 'MinorMarkSweep', 'MinorMarkCompact']);
const PROMOTED_TO = ['old_space', 'large_object_space'];

/** A space's used bytes in one of the GC profiler's snapshots (before or after a collection). */
const usedBytes = (snapshot, space) =>
  snapshot.heapSpaceStatistics.find((s) => s.spaceName === space)?.spaceUsedSize ?? 0;

/** Over a window's collections: how many of each kind, their main-thread time, and the bytes scavenges promoted. */
function gcFigures(statistics) {
  const figures = { scavenges: 0, markCompacts: 0, pauseMs: 0, promotedBytes: 0 };
  for (const gc of statistics) {
    figures.pauseMs += gc.cost / 1000;
    if (gc.gcType === 'MarkSweepCompact') figures.markCompacts += 1;
    if (!MINOR_GC.has(gc.gcType)) continue;
    figures.scavenges += 1;
    for (const space of PROMOTED_TO)
      figures.promotedBytes += usedBytes(gc.afterGC, space) - usedBytes(gc.beforeGC, space);
  }
  return figures;
}

/**
 * `allocated` keeps every sampled object, freed or not. `promoted` leaves out what scavenges freed; a minor
 * collection right before it stops frees the window's last young garbage, but young garbage that a mark-compact
 * freed during the window still counts, so its profile over-counts where mark-compacts were frequent.
 */
export function heapSampler(mode, dir, gc) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  let sampling = false;
  let taken = 0;
  let gcProfiler = null;
  return {
    async start() {
      gcProfiler?.stop();
      if (sampling) await post('HeapProfiler.stopSampling');
      sampling = true;
      await post('HeapProfiler.startSampling', {
        samplingInterval: SAMPLING_INTERVAL,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: mode === 'allocated',
      });
      gcProfiler = new GCProfiler();
      gcProfiler.start();
    },
    /** Stops, writes the profile and returns where, with the GC figures; undefined when not sampling. */
    async stop() {
      if (!sampling) return undefined;
      sampling = false;
      const gcStats = gcFigures(gcProfiler?.stop()?.statistics ?? []);
      gcProfiler = null;
      if (mode === 'promoted') gc({ type: 'minor' });
      const { profile } = await post('HeapProfiler.stopSampling');
      taken += 1;
      const file = join(dir, `heap-${process.pid}-${taken}.heapprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return { file, mode, gc: gcStats };
    },
  };
}
