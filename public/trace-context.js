// W3C trace context for the page's turns (protocol 1.4): one traceparent per utterance, sent on its interims and
// its final, so the gateway's spans of the reply continue one trace. The page exports no spans of its own: the
// trace id, shown on each reply (a tooltip on its timings), is what to look up in Jaeger, Tempo or any trace UI.

/** A fresh, sampled traceparent: a random 16-byte trace id and 8-byte parent id, neither all zeros. */
export function newTraceparent() {
  const bytes = new Uint8Array(24);
  do window.crypto.getRandomValues(bytes);
  while (bytes.subarray(0, 16).every((b) => b === 0) || bytes.subarray(16).every((b) => b === 0));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `00-${hex.slice(0, 32)}-${hex.slice(32)}-01`;
}

/** The traceparent of each turn id, made on first use; only the newest `limit` are kept. */
export function createTraceBook(limit = 32) {
  const byTurn = new Map();
  return {
    /** The turn's traceparent (the same for every frame of one utterance). */
    for(turnId) {
      let traceparent = byTurn.get(turnId);
      if (!traceparent) {
        traceparent = newTraceparent();
        byTurn.set(turnId, traceparent);
        if (byTurn.size > limit) byTurn.delete(byTurn.keys().next().value);
      }
      return traceparent;
    },
    /** The trace id sent with turn `turnId`, or null when none was. */
    traceId(turnId) {
      return byTurn.get(turnId)?.slice(3, 35) ?? null;
    },
  };
}
