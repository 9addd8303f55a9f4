/**
 * A logging TCP proxy on loopback for recording how a client (dockerd) talks to a registry:
 * bytes are forwarded unchanged in both directions as they arrive, and both directions are fed
 * to a WireParser so every request is paired with its response, per connection.
 */
import type { Socket, TCPSocketListener } from "bun";
import type { WireMessage } from "./wire.ts";
import { methodOf, statusOf, WireParser } from "./wire.ts";

/** One request and its response, on the proxy's connection number `conn` (in accept order). */
export interface HttpExchange {
  kind: "http";
  conn: number;
  request: WireMessage;
  response: WireMessage;
}

/** A connection that began with a TLS record (dockerd tries HTTPS first): not parsed, kept. */
export interface TlsExchange {
  kind: "tls";
  conn: number;
  /** the client's first read */
  clientHello: Buffer;
  /** the registry's first bytes ("" if it only closed) */
  reply: Buffer;
  startMs: number;
  endMs: number;
}

export type Exchange = HttpExchange | TlsExchange;

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;

/** Forwards to `peer`, queueing what the kernel did not take until the peer drains. */
class Outbox {
  private queue: Buffer[] = [];
  peer: Socket<Conn> | null = null;

  send(data: Buffer): void {
    this.queue.push(Buffer.from(data)); // Bun reuses the read buffer after the callback
    this.flush();
  }

  flush(): void {
    const peer = this.peer;
    if (!peer) return;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (!head) break;
      const written = peer.write(head);
      if (written < 0) return;
      if (written < head.length) {
        this.queue[0] = head.subarray(written);
        return;
      }
      this.queue.shift();
    }
  }
}

interface Conn {
  id: number;
  /** bytes towards the client, and towards the registry */
  toClient: Outbox;
  toServer: Outbox;
  requests: WireParser;
  responses: WireParser;
  /** requests waiting for their response, oldest first */
  waiting: WireMessage[];
  client: Socket<Conn> | null;
  upstream: Socket<Conn> | null;
  /** set when the connection began with a TLS record */
  tls: TlsExchange | null;
  /** nothing read from the client yet */
  fresh: boolean;
}

export interface RecordingProxy {
  port: number;
  /** completed exchanges so far, in completion order */
  exchanges: Exchange[];
  /** parse errors (the recording is then not to be trusted) */
  errors: string[];
  /** how many TCP connections the client opened */
  connections(): number;
  stop(): void;
}

/** Starts the proxy on 127.0.0.1 (a free port) in front of `upstreamPort`; `clock()` stamps reads. */
export function startRecordingProxy(upstreamPort: number, clock: () => number): RecordingProxy {
  const exchanges: Exchange[] = [];
  const errors: string[] = [];
  let opened = 0;
  const feed = (parser: WireParser, data: Buffer, what: string) => {
    try {
      parser.push(data, clock());
    } catch (error) {
      errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const closeBoth = (conn: Conn) => {
    conn.client?.end();
    conn.upstream?.end();
  };
  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const id = opened++;
        const waiting: WireMessage[] = [];
        const conn: Conn = {
          id,
          toClient: new Outbox(),
          toServer: new Outbox(),
          waiting,
          client,
          upstream: null,
          tls: null,
          fresh: true,
          requests: new WireParser("request", (request) => waiting.push(request)),
          responses: new WireParser(
            "response",
            (response) => {
              if (statusOf(response) < 200) return; // 100 Continue: the final answer follows
              const request = waiting.shift();
              if (request) exchanges.push({ kind: "http", conn: id, request, response });
              else errors.push(`connection ${id}: a response without a request`);
            },
            () => (waiting[0] ? methodOf(waiting[0]) : "GET"),
          ),
        };
        client.data = conn;
        conn.toClient.peer = client;
        Bun.connect<Conn>({
          hostname: "127.0.0.1",
          port: upstreamPort,
          data: conn,
          socket: {
            open(upstream) {
              conn.upstream = upstream;
              conn.toServer.peer = upstream;
              conn.toServer.flush();
            },
            data(_upstream, data) {
              if (conn.tls) {
                if (conn.tls.reply.length === 0) conn.tls.reply = Buffer.from(data.subarray(0, 200));
                conn.tls.endMs = clock();
              } else feed(conn.responses, data, `connection ${conn.id} response`);
              conn.toClient.send(data);
            },
            drain() {
              conn.toServer.flush();
            },
            close() {
              conn.upstream = null;
              closeBoth(conn);
            },
            error() {
              closeBoth(conn);
            },
            connectError(_socket, error) {
              errors.push(`connection ${conn.id}: upstream: ${error.message}`);
              closeBoth(conn);
            },
          },
        }).catch((error: unknown) => errors.push(`connection ${conn.id}: ${String(error)}`));
      },
      data(client, data) {
        const conn = client.data;
        if (conn.fresh && data[0] === TLS_HANDSHAKE) {
          const at = clock();
          conn.tls = { kind: "tls", conn: conn.id, clientHello: Buffer.from(data), reply: Buffer.alloc(0), startMs: at, endMs: at };
          exchanges.push(conn.tls);
        }
        conn.fresh = false;
        if (!conn.tls) feed(conn.requests, data, `connection ${conn.id} request`);
        conn.toServer.send(data);
      },
      drain(client) {
        client.data.toClient.flush();
      },
      close(client) {
        if (client.data.tls) client.data.tls.endMs = Math.max(client.data.tls.endMs, clock());
        client.data.client = null;
        closeBoth(client.data);
      },
      error(client) {
        closeBoth(client.data);
      },
    },
  });
  return {
    port: listener.port,
    exchanges,
    errors,
    connections: () => opened,
    stop: () => listener.stop(true),
  };
}
