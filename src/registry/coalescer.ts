/**
 * Gathers a request body's small chunks into buffers of `size` bytes, so that an upload makes
 * one write and hands the hash worker one message per buffer, not per chunk: docker streams a
 * layer as HTTP/1.1 chunked encoding in small writes, and each chunk used to cost a write(2), a
 * message to the hash thread and its answer. Chunks are copied at once, never kept (Bun may
 * reuse what they view); a large chunk with nothing gathered passes through uncopied.
 */
export class Coalescer {
  private buffer: Uint8Array | null = null;
  private bytes = 0;

  constructor(private readonly size: number) {}

  /** bytes gathered and not yet taken */
  get pending(): number {
    return this.bytes;
  }

  /** Adds a chunk; returns the buffers that filled up (each the caller's to keep), usually none. */
  add(chunk: Uint8Array): Uint8Array[] {
    if (this.bytes === 0 && chunk.byteLength >= this.size) return [chunk];
    const ready: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.byteLength) {
      this.buffer ??= new Uint8Array(this.size); // its own ArrayBuffer: the hash worker can take it
      const count = Math.min(this.size - this.bytes, chunk.byteLength - offset);
      this.buffer.set(chunk.subarray(offset, offset + count), this.bytes);
      this.bytes += count;
      offset += count;
      if (this.bytes === this.size) {
        ready.push(this.buffer);
        this.buffer = null;
        this.bytes = 0;
      }
    }
    return ready;
  }

  /** Everything gathered, as one buffer the caller owns; null when nothing is. */
  take(): Uint8Array | null {
    if (this.buffer === null || this.bytes === 0) return null;
    const taken = this.buffer.subarray(0, this.bytes);
    this.buffer = null;
    this.bytes = 0;
    return taken;
  }
}
