// The floor relay's reading of the upstream body (bench/floor-relay.ts), shared with bench/hot-path.ts so that the
// in-process comparison measures the same code the floor relay runs: split SSE text into events and hand on each
// delta's content. Whole events only, as the simulator writes them; no CR line endings, comments or multi-line data.

/** Splits SSE bytes into events and hands on each delta's content (the simulator writes whole events). */
export function readContents(sse: { buffer: string }, chunk: Buffer, onContent: (content: string) => void): void {
  sse.buffer += chunk.toString('utf8');
  for (let end = sse.buffer.indexOf('\n\n'); end >= 0; end = sse.buffer.indexOf('\n\n')) {
    const line = sse.buffer.slice(0, end);
    sse.buffer = sse.buffer.slice(end + 2);
    if (!line.startsWith('data: {')) continue;
    const content = (JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string | null } }[] }).choices?.[0]
      ?.delta?.content;
    if (typeof content === 'string' && content !== '') onContent(content);
  }
}
