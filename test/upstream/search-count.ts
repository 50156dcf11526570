// For tests that a scan stays linear: how many characters String.prototype.indexOf looked at while `run` ran (a
// search from `from` that finds its match at `found` looked at found − from of them; one that fails, at the rest).
import { vi } from 'vitest';

export function charactersSearched(run: () => void): number {
  const search = String.prototype.indexOf;
  let looked = 0;
  const spy = vi.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, text, from) {
    const found = search.call(this, text, from);
    looked += (found === -1 ? this.length : found) - (from ?? 0);
    return found;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return looked;
}
