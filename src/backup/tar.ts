/**
 * A minimal POSIX tar (ustar, with PAX headers for paths longer than ustar holds): written as
 * a stream of entries whose bodies are streamed in turn, and read back entry by entry from a
 * stream. Enough for backups of Berth's tree: regular files only.
 */

const BLOCK = 512;

export interface TarEntry {
  path: string;
  size: number;
  /** the body, read when the entry is written */
  body: () => ReadableStream<Uint8Array> | Uint8Array;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(path: string, size: number, type: "0" | "x", mtime: number): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const put = (text: string, offset: number) => block.set(new TextEncoder().encode(text), offset);
  put(path, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put("        ", 148);
  put(type, 156);
  put("ustar\0", 257);
  put("00", 263);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(octal(sum, 7) + " ", 148);
  return block;
}

function padding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest);
}

/** The header blocks for a file: a PAX `path` record first when the path is longer than 100 bytes. */
export function fileHeader(path: string, size: number, mtime = Math.floor(Date.now() / 1000)): Uint8Array[] {
  const bytes = new TextEncoder().encode(path);
  if (bytes.byteLength <= 100) return [header(path, size, "0", mtime)];
  const body = paxRecord("path", path);
  return [header("PaxHeader", body.byteLength, "x", mtime), body, padding(body.byteLength), header(path.slice(-100).replace(/^[^/]*\//, ""), size, "0", mtime)];
}

function paxRecord(key: string, value: string): Uint8Array {
  const text = ` ${key}=${value}\n`;
  const size = new TextEncoder().encode(text).byteLength;
  // the record's length counts its own digits
  let length = size + 1;
  while (String(length).length + size !== length) length = String(length).length + size;
  return new TextEncoder().encode(`${length}${text}`);
}

/** A tar stream of `entries` (pulled one at a time), then the two zero blocks that end it. */
export function tarStream(entries: AsyncIterable<TarEntry>, onBytes: (bytes: number) => void = () => {}): ReadableStream<Uint8Array> {
  const iterator = entries[Symbol.asyncIterator]();
  let body: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let pad: Uint8Array | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const emit = (chunk: Uint8Array) => {
        if (chunk.byteLength === 0) return;
        onBytes(chunk.byteLength);
        controller.enqueue(chunk);
      };
      if (body) {
        const { done, value } = await body.read();
        if (!done) return emit(value);
        body = null;
        if (pad) emit(pad);
        return;
      }
      const next = await iterator.next();
      if (next.done) {
        emit(new Uint8Array(BLOCK * 2));
        controller.close();
        return;
      }
      const entry = next.value;
      for (const block of fileHeader(entry.path, entry.size)) emit(block);
      const content = entry.body();
      pad = padding(entry.size);
      if (content instanceof Uint8Array) {
        emit(content);
        emit(pad);
      } else body = content.getReader();
    },
    async cancel(reason) {
      await body?.cancel(reason);
      await iterator.return?.();
    },
  });
}

/** A reader that hands out exactly the bytes asked for, from a stream of chunks. */
class ExactReader {
  private buffered: Uint8Array[] = [];
  private length = 0;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Up to `max` bytes (fewer only at the end), or null at the end. */
  async some(max: number): Promise<Uint8Array | null> {
    if (this.length === 0) {
      const { done, value } = await this.reader.read();
      if (done) return null;
      this.buffered.push(value);
      this.length += value.byteLength;
    }
    const first = this.buffered[0] as Uint8Array;
    const take = first.subarray(0, Math.min(max, first.byteLength));
    if (take.byteLength === first.byteLength) this.buffered.shift();
    else this.buffered[0] = first.subarray(take.byteLength);
    this.length -= take.byteLength;
    return take;
  }

  async exactly(size: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const chunk = await this.some(size - filled);
      if (chunk === null) return filled === 0 ? null : out.subarray(0, filled);
      out.set(chunk, filled);
      filled += chunk.byteLength;
    }
    return out;
  }
}

function field(block: Uint8Array, offset: number, width: number): string {
  const bytes = block.subarray(offset, offset + width);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * Calls `onFile` for each regular file of a tar stream, with its path and a function that
 * streams its body to a sink (called at most once; a body not read is skipped).
 * @throws Error for a stream that is not tar
 */
export async function readTar(stream: ReadableStream<Uint8Array>, onFile: (path: string, size: number, read: (sink: (chunk: Uint8Array) => void | Promise<void>) => Promise<void>) => Promise<void>): Promise<void> {
  const input = new ExactReader(stream.getReader());
  let paxPath: string | null = null;
  for (;;) {
    const block = await input.exactly(BLOCK);
    if (block === null || block.every((byte) => byte === 0)) return;
    if (block.byteLength < BLOCK || field(block, 257, 5) !== "ustar") throw new Error("Not a tar archive (or a damaged one): bad header");
    const size = parseInt(field(block, 124, 12).trim() || "0", 8);
    const type = field(block, 156, 1);
    const prefix = field(block, 345, 155);
    const name = paxPath ?? (prefix === "" ? field(block, 0, 100) : `${prefix}/${field(block, 0, 100)}`);
    let remaining = size;
    const skip = async () => {
      while (remaining > 0) {
        const chunk = await input.some(remaining);
        if (chunk === null) throw new Error("The archive ends in the middle of a file");
        remaining -= chunk.byteLength;
      }
    };
    if (type === "x") {
      const body = (await input.exactly(size)) ?? new Uint8Array(0);
      remaining = 0;
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(body))?.[1] ?? null;
    } else {
      paxPath = null;
      if (type === "0" || type === "") {
        await onFile(name, size, async (sink) => {
          while (remaining > 0) {
            const chunk = await input.some(Math.min(remaining, 1 << 20));
            if (chunk === null) throw new Error("The archive ends in the middle of a file");
            remaining -= chunk.byteLength;
            await sink(chunk);
          }
        });
      }
      await skip();
    }
    const rest = size % BLOCK;
    if (rest !== 0) await input.exactly(BLOCK - rest);
  }
}
