/**
 * The HTTP(S) listener: Bun.serve on one address. Its handlers can be replaced (SIGHUP) and so
 * can its certificate: Bun cannot change a running server's TLS context, so a second server
 * starts on the same port (SO_REUSEPORT) and the first stops accepting, finishing what it has.
 * A probe bind without SO_REUSEPORT first makes sure no other process listens there: two
 * registries on one port would split the requests silently.
 */
import type { Server } from "bun";
import type { TlsOptions } from "../auth/tls.ts";
import type { ListenAddress } from "./preflight.ts";

export interface Handlers {
  fetch(request: Request, server: Server<undefined>): Response | Promise<Response>;
  error(error: Error): Response;
}

export class Listener {
  private server: Server<undefined>;

  private constructor(
    private readonly address: ListenAddress,
    private handlers: Handlers,
    tls: TlsOptions | null,
  ) {
    this.server = this.start(tls);
  }

  /** @throws Error when the address is in use or cannot be bound */
  static open(address: ListenAddress, handlers: Handlers, tls: TlsOptions | null): Listener {
    const probe = Bun.serve({ hostname: address.hostname, port: address.port, reusePort: false, fetch: () => new Response(null, { status: 503 }) });
    void probe.stop(true);
    return new Listener(address, handlers, tls);
  }

  /** The port actually bound (the configured one, or the kernel's choice for port 0). */
  get port(): number {
    return this.server.port ?? this.address.port;
  }

  /** Requests from now on, on every connection, go to `handlers`. */
  use(handlers: Handlers): void {
    this.handlers = handlers;
  }

  /** New connections get the new certificate; connections open now finish on the old one. */
  replaceTls(tls: TlsOptions): void {
    const old = this.server;
    this.server = this.start(tls, this.port);
    void old.stop(false);
  }

  /** Stops accepting; resolves when the requests in flight are done (`force`: closes them now). */
  stop(force = false): Promise<void> {
    return this.server.stop(force);
  }

  private start(tls: TlsOptions | null, port = this.address.port): Server<undefined> {
    return Bun.serve({
      hostname: this.address.hostname,
      port,
      development: false,
      fetch: (request, server) => this.handlers.fetch(request, server),
      error: (error) => this.handlers.error(error),
      // Layers are streamed to disk, so there is no reason to cap a body's size in memory terms.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      idleTimeout: 120,
      reusePort: true,
      ...(tls ? { tls } : {}),
    });
  }
}
