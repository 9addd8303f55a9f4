/**
 * One HTTP/1.1 exchange on a fresh raw Bun socket, with the request written in exactly the
 * pieces the caller gives (each piece one socket write, waiting for drain when the kernel
 * takes less), and the response read until its body is complete or the server closes.
 */
import type { Socket } from "bun";

export interface RawResponse {
  status: number;
  /** names lower-cased */
  headers: Map<string, string>;
  body: Buffer;
}

const HEADER_END = Buffer.from("\r\n\r\n");

export class RawConnection {
  private socket: Socket<undefined> | null = null;
  private received: Buffer = Buffer.alloc(0);
  private closed = false;
  private drainWaiter: (() => void) | null = null;
  private dataWaiter: (() => void) | null = null;
  private failure: Error | null = null;

  private constructor() {}

  static async open(hostname: string, port: number): Promise<RawConnection> {
    const conn = new RawConnection();
    conn.socket = await Bun.connect({
      hostname,
      port,
      socket: {
        data: (_s, data) => {
          conn.received = conn.received.length ? Buffer.concat([conn.received, data]) : Buffer.from(data);
          conn.wake();
        },
        drain: () => {
          const waiter = conn.drainWaiter;
          conn.drainWaiter = null;
          waiter?.();
        },
        close: () => conn.onClose(null),
        error: (_s, error) => conn.onClose(error),
      },
    });
    return conn;
  }

  private onClose(error: Error | null): void {
    this.closed = true;
    this.failure ??= error;
    this.socket = null;
    this.wake();
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.();
  }

  private wake(): void {
    const waiter = this.dataWaiter;
    this.dataWaiter = null;
    waiter?.();
  }

  /** Writes `piece` as one write; resolves once the kernel has taken all of it. */
  async write(piece: Uint8Array): Promise<void> {
    let rest = piece;
    while (rest.length > 0) {
      if (!this.socket) throw this.failure ?? new Error("connection closed while writing");
      const written = this.socket.write(rest);
      if (written >= rest.length) return;
      rest = rest.subarray(Math.max(0, written));
      await new Promise<void>((resolve) => {
        this.drainWaiter = resolve;
      });
    }
  }

  /** Waits for more bytes or the close (bounded by `deadline`, a performance.now() value). */
  private async more(deadline: number): Promise<void> {
    if (this.closed) return;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error("timed out waiting for the response");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.dataWaiter = resolve;
      timer = setTimeout(resolve, left);
    });
    clearTimeout(timer);
  }

  /** Reads one response (`method` tells whether it has a body); fails on close before it is whole. */
  async response(method: string, timeoutMs: number): Promise<RawResponse> {
    const deadline = performance.now() + timeoutMs;
    let end = this.received.indexOf(HEADER_END);
    while (end < 0) {
      if (this.closed) throw this.failure ?? new Error("connection closed before the response headers");
      await this.more(deadline);
      end = this.received.indexOf(HEADER_END);
    }
    const lines = this.received.toString("latin1", 0, end).split("\r\n");
    const status = Number(lines[0]?.split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const noBody = method === "HEAD" || status === 204 || status === 304 || status < 200;
    const length = noBody ? 0 : Number(headers.get("content-length") ?? Number.NaN);
    const bodyStart = end + 4;
    // without Content-Length (or chunked) the body ends at close; the replay never needs it parsed
    while (!(this.received.length - bodyStart >= length) && !this.closed) await this.more(deadline);
    const body = this.received.subarray(bodyStart, Number.isFinite(length) ? bodyStart + length : undefined);
    return { status, headers, body };
  }

  /** Waits (bounded) for the first byte or the close; for a probe whose answer does not matter. */
  async anything(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.received.length === 0 && !this.closed && performance.now() < deadline) await this.more(deadline).catch(() => undefined);
  }

  close(): void {
    this.socket?.end();
    this.socket = null;
  }
}
