// Number and table formatting for the bench report: dashes for missing figures, signed differences, KiB,
// markdown rows, and the upstream-wait summary.
import type { WaitSummary } from './messages.js';

export type Op = (a: number, b: number) => number;
export const apply = (a: number | null, b: number | null, op: Op): number | null =>
  a === null || b === null ? null : op(a, b);

export const fmt = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
export const signed = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined || Number.isNaN(value)
    ? '–'
    : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
export const kib = (bytes: number | null | undefined): string =>
  bytes === null || bytes === undefined ? '–' : (bytes / 1024).toFixed(1);

export function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** An upstream wait summary (--probe-upstream): `p50 / p90 (n)`. */
export function waitText(wait: WaitSummary): string {
  return wait.count === 0 ? '– (0)' : `${fmt(wait.p50Ms, 2)} / ${fmt(wait.p90Ms, 2)} (${wait.count})`;
}
