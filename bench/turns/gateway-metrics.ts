// The gateway's own account of a pass, read from its Prometheus /metrics: committed turns, upstream requests
// per turn, and what speculation started, adopted and discarded (src/metrics.ts names them).

export interface GatewayCounters {
  turnsCommitted: number;
  /** Committed turns a speculation answered. */
  speculativeTurns: number;
  turnUpstreamRequests: number;
  speculations: { started: number; adopted: number; discarded: number };
  discardedByReason: Record<string, number>;
  discardedTokens: number;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line.trim());
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[key!] = value!;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

export function parseGatewayCounters(text: string): GatewayCounters {
  const all = samples(text);
  const sum = (name: string, where: (labels: Record<string, string>) => boolean = () => true): number =>
    all.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);
  const outcome = (value: string): number =>
    sum('asi1_gateway_speculations_total', (labels) => labels.outcome === value);
  const discardedByReason: Record<string, number> = {};
  for (const s of all) {
    if (s.name !== 'asi1_gateway_speculations_discarded_total' || s.labels.reason === undefined) continue;
    discardedByReason[s.labels.reason] = (discardedByReason[s.labels.reason] ?? 0) + s.value;
  }
  return {
    turnsCommitted: sum('asi1_gateway_turns_committed_total'),
    speculativeTurns: sum('asi1_gateway_turns_committed_total', (labels) => labels.speculative === 'true'),
    turnUpstreamRequests: sum('asi1_gateway_turn_upstream_requests_total'),
    speculations: { started: outcome('started'), adopted: outcome('adopted'), discarded: outcome('discarded') },
    discardedByReason,
    discardedTokens: sum('asi1_gateway_speculation_discarded_tokens_total'),
  };
}

export async function fetchGatewayCounters(httpUrl: string): Promise<GatewayCounters> {
  const token = process.env.METRICS_TOKEN;
  const response = await fetch(`${httpUrl}/metrics`, {
    headers: token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) throw new Error(`GET /metrics: HTTP ${response.status}`);
  return parseGatewayCounters(await response.text());
}
