// The replay buffer's storage: a session's recent serialised events as UTF-8 bytes in a few off-heap chunks, not
// as a string and an object per event. A talking session keeps up to REPLAY_BUFFER_EVENTS (2,000) of them: held on
// the JS heap, every delta outlived the young generation and was copied out of it, and the heap grew by about
// 100 KiB per talking session (bench, 1,000 sessions). Bytes in a Buffer are neither traced nor copied by the GC.
// Written by hand: no library keeps numbered, evictable UTF-8 records off-heap.

/** One numbered event, serialised (`seq` is inside `json` too). */
export interface LoggedEvent {
  seq: number;
  json: string;
  /** `json` as UTF-8, when the replay buffer holds it: written as is, so the socket need not encode it again. */
  bytes?: Buffer;
}

/** What numbers a serialised event: it takes the place of the object's closing brace. */
export const seqTail = (seq: number): string => `,"seq":${seq}}`;

/** The first chunk is small (most sessions keep few events); each next one doubles, up to this. */
const FIRST_CHUNK_BYTES = 512;
const MAX_CHUNK_BYTES = 32 * 1024;

interface Chunk {
  readonly bytes: Buffer;
  used: number;
  /** The seq of its first event; the others follow without a gap. */
  readonly firstSeq: number;
  /**
   * Where each of its events ends in `bytes`, in order: the first `count` entries. A typed array grown by doubling,
   * not a JS array: a long-lived session's 2,000 offsets take 8 KB off the JS heap instead of 16 KB on it.
   */
  ends: Uint32Array;
  count: number;
}

const FIRST_ENDS = 16;

/** Numbered events, oldest first, in a gap-free run of seqs; the caller evicts from the front. */
export class ReplayBytes {
  private readonly chunks: Chunk[] = [];
  /** Events at the front of chunks[0] already evicted. */
  private evicted = 0;
  private events = 0;
  private totalBytes = 0;

  get size(): number {
    return this.events;
  }

  /** UTF-8 bytes of the events held. */
  get bytes(): number {
    return this.totalBytes;
  }

  get firstSeq(): number | undefined {
    const first = this.chunks[0];
    return first === undefined ? undefined : first.firstSeq + this.evicted;
  }

  get lastSeq(): number | undefined {
    const last = this.chunks.at(-1);
    return last === undefined ? undefined : last.firstSeq + last.count - 1;
  }

  /**
   * Appends the event numbered `seq` (lastSeq + 1, or any seq when empty) and returns its bytes. They stay valid
   * after eviction: a chunk is never written over, only let go.
   */
  push(seq: number, json: string): Buffer {
    return this.write(seq, json, '');
  }

  /**
   * push() of `body` (a serialised object) with `,"seq":N}` in place of its closing brace, written as two parts:
   * the event's string with its number is never built (that copy and its garbage cost more than the write).
   */
  pushNumbered(seq: number, body: string): Buffer {
    // The tail replaces the closing brace: anything else would overwrite a byte of the event before.
    if (body.charCodeAt(body.length - 1) !== 0x7d) throw new RangeError('a numbered event must be a JSON object');
    return this.write(seq, body, seqTail(seq));
  }

  private write(seq: number, head: string, tail: string): Buffer {
    const last = this.chunks.at(-1);
    if (last !== undefined && seq !== last.firstSeq + last.count) {
      throw new RangeError(`replay events must follow each other: ${seq} after ${this.lastSeq ?? 'none'}`);
    }
    let target = last;
    // At most 3 bytes per UTF-16 unit: with that much room the event is written without measuring it first.
    const length = head.length + tail.length;
    if (target === undefined || target.bytes.length - target.used < length * 3) {
      const needed = Buffer.byteLength(head) + tail.length;
      if (target === undefined || target.bytes.length - target.used < needed) target = this.newChunk(seq, needed);
    }
    const start = target.used;
    const bytes = target.bytes;
    let end = start + bytes.write(head, start, 'utf8');
    // The tail is a dozen ASCII characters; it goes over the head's closing brace. Copied here, not by write():
    // a call into the binding costs more than the copy.
    if (tail !== '') {
      end -= 1;
      for (let i = 0; i < tail.length; i += 1) bytes[end++] = tail.charCodeAt(i);
    }
    target.used = end;
    if (target.count === target.ends.length) {
      const grown = new Uint32Array(target.count * 2);
      grown.set(target.ends);
      target.ends = grown;
    }
    target.ends[target.count++] = end;
    this.events += 1;
    this.totalBytes += end - start;
    return bytes.subarray(start, end);
  }

  /** Drops the oldest event. */
  shift(): void {
    const first = this.chunks[0];
    if (first === undefined) return;
    const start = this.evicted === 0 ? 0 : (first.ends[this.evicted - 1] as number);
    this.totalBytes -= (first.ends[this.evicted] as number) - start;
    this.events -= 1;
    this.evicted += 1;
    if (this.evicted === first.count) {
      this.chunks.shift();
      this.evicted = 0;
    }
  }

  clear(): void {
    this.chunks.length = 0;
    this.evicted = 0;
    this.events = 0;
    this.totalBytes = 0;
  }

  /** The events from `seq` on (from the first held when `seq` is older), decoded. */
  from(seq: number): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    this.chunks.forEach((chunk, c) => {
      const skip = Math.max(c === 0 ? this.evicted : 0, seq - chunk.firstSeq);
      for (let i = skip; i < chunk.count; i += 1) {
        const start = i === 0 ? 0 : (chunk.ends[i - 1] as number);
        out.push({ seq: chunk.firstSeq + i, json: chunk.bytes.toString('utf8', start, chunk.ends[i]) });
      }
    });
    return out;
  }

  private newChunk(seq: number, needed: number): Chunk {
    const previous = this.chunks.at(-1)?.bytes.length ?? FIRST_CHUNK_BYTES / 2;
    const size = Math.max(needed, Math.min(MAX_CHUNK_BYTES, previous * 2));
    const chunk: Chunk = {
      bytes: Buffer.allocUnsafeSlow(size),
      used: 0,
      firstSeq: seq,
      ends: new Uint32Array(FIRST_ENDS),
      count: 0,
    };
    this.chunks.push(chunk);
    return chunk;
  }
}
