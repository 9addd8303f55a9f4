/**
 * An incremental HTTP/1.1 parser for one direction of a TCP connection, as the recording proxy
 * (bench/record-docker-push.ts) sees it: it does not decode anything it does not need, it
 * counts how the body arrived. For each message it keeps the start line, the headers, how many
 * body bytes (wire bytes, chunk framing included) each TCP read carried, and, for
 * `Transfer-Encoding: chunked`, the size of every chunk in order.
 */

export interface WireMessage {
  /** "PATCH /v2/x/blobs/uploads/1 HTTP/1.1" or "HTTP/1.1 202 Accepted" */
  startLine: string;
  /** header names lower-cased, in order */
  headers: Array<[string, string]>;
  /** decoded body bytes */
  bodyBytes: number;
  /** body bytes on the wire, chunk framing included */
  wireBytes: number;
  /** wire body bytes per TCP read, in order */
  reads: number[];
  /** data size of every chunk, in order (the final 0-size chunk left out); empty when not chunked */
  chunks: number[];
  /** the clock value of the read that held the first byte of the message, and of its last byte */
  firstMs: number;
  lastMs: number;
  /** the clock value of the first and last reads that carried body bytes (NaN without a body) */
  bodyFirstMs: number;
  bodyLastMs: number;
}

export type WireRole = "request" | "response";

const LF = 0x0a;
const MAX_HEAD = 64 * 1024;

type State =
  | { kind: "head" }
  | { kind: "length"; left: number }
  | { kind: "chunk-size" }
  | { kind: "chunk-data"; left: number }
  | { kind: "chunk-end"; left: number }
  | { kind: "trailer" };

export function header(message: Pick<WireMessage, "headers">, name: string): string | undefined {
  return message.headers.find(([n]) => n === name)?.[1];
}

/** The method of a request or the status of a response, from its start line. */
export function methodOf(message: WireMessage): string {
  return message.startLine.split(" ")[0] ?? "";
}

export function statusOf(message: WireMessage): number {
  return Number(message.startLine.split(" ")[1]);
}

/**
 * Parses one direction of a connection. For responses, `requestMethod()` must return the
 * method of the request being answered (a response to HEAD has no body, whatever it says).
 */
export class WireParser {
  private state: State = { kind: "head" };
  private head: Buffer = Buffer.alloc(0);
  private line: Buffer = Buffer.alloc(0);
  private message: WireMessage | null = null;
  private readWire = 0;
  /** clock value of the read that began a head split over several reads */
  private pendingFirstMs = 0;

  constructor(
    private readonly role: WireRole,
    private readonly onMessage: (message: WireMessage) => void,
    private readonly requestMethod: () => string = () => "GET",
  ) {}

  /** Feeds one TCP read. Throws on input that is not HTTP/1.1. */
  push(data: Uint8Array, atMs: number): void {
    let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.readWire = 0;
    while (buf.length > 0) {
      const used = this.step(buf, atMs);
      buf = buf.subarray(used);
    }
    this.endRead(atMs);
  }

  /** True between messages (nothing half-read). */
  idle(): boolean {
    return this.state.kind === "head" && this.head.length === 0;
  }

  private endRead(atMs: number): void {
    if (this.message && this.readWire > 0) {
      this.message.reads.push(this.readWire);
      if (Number.isNaN(this.message.bodyFirstMs)) this.message.bodyFirstMs = atMs;
      this.message.bodyLastMs = atMs;
    }
    this.readWire = 0;
  }

  /** Consumes a prefix of `buf`; returns its length. */
  private step(buf: Buffer, atMs: number): number {
    const state = this.state;
    switch (state.kind) {
      case "head":
        return this.readHead(buf, atMs);
      case "length": {
        const n = Math.min(state.left, buf.length);
        this.body(n, n);
        state.left -= n;
        if (state.left === 0) this.finish(atMs);
        return n;
      }
      case "chunk-size":
      case "trailer": {
        const n = this.readLine(buf);
        this.body(n, 0);
        if (n === buf.length && buf[n - 1] !== LF) return n;
        const text = this.line.toString("latin1").trim();
        this.line = Buffer.alloc(0);
        if (state.kind === "trailer") {
          if (text === "") this.finish(atMs);
          return n;
        }
        const size = Number.parseInt(text.split(";")[0] ?? "", 16);
        if (!Number.isInteger(size) || size < 0) throw new TypeError(`Bad chunk size line "${text}"`);
        if (size === 0) this.state = { kind: "trailer" };
        else {
          this.message?.chunks.push(size);
          this.state = { kind: "chunk-data", left: size };
        }
        return n;
      }
      case "chunk-data": {
        const n = Math.min(state.left, buf.length);
        this.body(n, n);
        state.left -= n;
        if (state.left === 0) this.state = { kind: "chunk-end", left: 2 };
        return n;
      }
      case "chunk-end": {
        const n = Math.min(state.left, buf.length);
        this.body(n, 0);
        state.left -= n;
        if (state.left === 0) this.state = { kind: "chunk-size" };
        return n;
      }
    }
  }

  /** Bytes up to and including the next LF (or all of `buf`), appended to the current line. */
  private readLine(buf: Buffer): number {
    const lf = buf.indexOf(LF);
    const n = lf < 0 ? buf.length : lf + 1;
    this.line = Buffer.concat([this.line, buf.subarray(0, n)]);
    if (this.line.length > MAX_HEAD) throw new TypeError("Chunk size line too long");
    return n;
  }

  private body(wire: number, decoded: number): void {
    if (!this.message) return;
    this.message.wireBytes += wire;
    this.message.bodyBytes += decoded;
    this.readWire += wire;
  }

  private readHead(buf: Buffer, atMs: number): number {
    const before = this.head.length;
    if (before === 0) this.message = null;
    this.head = Buffer.concat([this.head, buf]);
    const end = this.head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.head.length > MAX_HEAD) throw new TypeError("HTTP head larger than 64 KiB");
      if (before === 0) this.pendingFirstMs = atMs;
      return buf.length;
    }
    const lines = this.head.toString("latin1", 0, end).split("\r\n");
    this.head = Buffer.alloc(0);
    const startLine = lines[0] ?? "";
    if (!/^(HTTP\/1\.[01] \d{3}|[A-Z]+ \S+ HTTP\/1\.[01])/.test(startLine)) throw new TypeError(`Not HTTP/1.x: "${startLine.slice(0, 80)}"`);
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const firstMs = before === 0 ? atMs : this.pendingFirstMs;
    this.message = {
      startLine,
      headers,
      bodyBytes: 0,
      wireBytes: 0,
      reads: [],
      chunks: [],
      firstMs,
      lastMs: atMs,
      bodyFirstMs: Number.NaN,
      bodyLastMs: Number.NaN,
    };
    this.state = this.bodyState(this.message);
    if (this.state.kind === "length" && this.state.left === 0) this.finish(atMs);
    return end + 4 - before;
  }

  private bodyState(message: WireMessage): State {
    if (this.role === "response") {
      const status = statusOf(message);
      const method = this.requestMethod();
      if (method === "HEAD" || status < 200 || status === 204 || status === 304) return { kind: "length", left: 0 };
    }
    if (/chunked/i.test(header(message, "transfer-encoding") ?? "")) return { kind: "chunk-size" };
    const length = Number(header(message, "content-length") ?? "0");
    if (!Number.isInteger(length) || length < 0) throw new TypeError(`Bad Content-Length in "${message.startLine}"`);
    return { kind: "length", left: length };
  }

  private finish(atMs: number): void {
    const message = this.message;
    this.state = { kind: "head" };
    if (!message) return;
    this.endRead(atMs);
    message.lastMs = atMs;
    this.message = null;
    this.onMessage(message);
  }
}
