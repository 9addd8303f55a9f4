/**
 * Debian's HAProxy in front of several Berth replicas, as the scale-out tests and the `replicas`
 * bench group run it: a generated configuration in a temp directory, HAProxy in the foreground
 * (-db) as a child process, killed on stop. Installed by tests/machine.sh.
 *
 * Why the configuration spreads ONE client connection's requests over the replicas: HAProxy 2.6
 * in `mode http` keeps both sides alive and picks a server for every request, not per
 * connection, as long as nothing makes a client stick (no cookie, no `balance source`: with it
 * the smoke test counts 30/0/0). Measured: 30 GETs on one connection gave 10/10/10, in the order
 * r0 r1 r2 r0 ...; `option prefer-last-server` changed nothing (server connections go to a
 * shared idle pool). So consecutive requests of one docker push land on different replicas, as
 * issue #16 requires; tests/e2e/cluster-harness.test.ts checks it from the access logs.
 *
 * A killed replica leaves the rotation after two failed health checks 500 ms apart (`fall 2`);
 * a request that cannot connect to it meanwhile is sent to another replica (`retries` with
 * `option redispatch`). Requests already sent to it fail: that is the client's retry to make.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const HAPROXY_BIN = "/usr/sbin/haproxy";

export interface HaproxyOptions {
  /** the admin socket HAProxy opens (stats, server states) */
  statsSocket?: string;
  /** the port HAProxy binds on 127.0.0.1 */
  port: number;
  /** the replicas' ports on 127.0.0.1 */
  servers: number[];
  /** health check interval, ms (500 by default) */
  checkIntervalMs?: number;
  /** one log line per request on HAProxy's stdout (server chosen, timings, status); off by default */
  requestLog?: boolean;
}

/** The configuration text: round robin over `servers`, checked on GET /healthz. */
export function haproxyConfig(options: HaproxyOptions): string {
  const inter = options.checkIntervalMs ?? 500;
  return [
    "global",
    "  maxconn 4096",
    ...(options.requestLog ? ["  log stdout format raw local0"] : []),
    ...(options.statsSocket ? [`  stats socket ${options.statsSocket} mode 600 level admin`] : []),
    "defaults",
    "  mode http",
    ...(options.requestLog ? ["  log global", "  option httplog"] : []),
    "  timeout connect 5s",
    // large blobs stream through: generous timeouts on both sides
    "  timeout client 5m",
    "  timeout server 5m",
    "  timeout http-keep-alive 30s",
    // a /healthz slower than the interval on a busy machine is not a dead replica; a killed one
    // refuses the connection at once, so this does not slow its removal
    "  timeout check 2s",
    // a connection refused by a dead replica is retried on another one
    "  retries 2",
    "  option redispatch 1",
    "frontend registry",
    `  bind 127.0.0.1:${options.port}`,
    // Berth reads X-Forwarded-Proto for the token realm's scheme; the client address goes along too
    "  option forwardfor",
    "  default_backend replicas",
    "backend replicas",
    "  balance roundrobin",
    // Berth keeps no state per connection: idle server connections serve any client (measured:
    // half the Berth CPU per request of the default, which opens more of them)
    "  http-reuse always",
    // HTTP/1.1 with a Host header: Berth answers 400 to the HTTP/1.0 check without Host that a
    // bare `option httpchk GET /healthz` sends, and every replica would be marked down
    "  option httpchk",
    "  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost",
    "  http-check expect status 200",
    `  default-server inter ${inter}ms fastinter ${inter}ms downinter ${inter}ms fall 2 rise 1`,
    ...options.servers.map((port, i) => `  server r${i} 127.0.0.1:${port} check`),
    "",
  ].join("\n");
}

export interface Haproxy {
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  pid: number;
  /** HAProxy's output so far (warnings, alerts; request lines with `requestLog`) */
  output(): string;
  /** each server's state (r0, r1, ...) from the stats socket: status UP/DOWN/... and last check */
  servers(): Promise<ServerState[]>;
  /** SIGTERM, SIGKILL after 5 s; removes the configuration directory */
  stop(): Promise<void>;
}

export interface ServerState {
  /** r0, r1, ...: the replica's index */
  name: string;
  /** UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (going up), MAINT, no check */
  status: string;
  /** the last check's result, e.g. L7OK, L4CON, L7TOUT, L7STS; "" before the first */
  check: string;
}

export function haproxyInstalled(): boolean {
  return existsSync(HAPROXY_BIN);
}

/** A port free now (the kernel's choice for port 0, released at once). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}

/**
 * Starts HAProxy on a free port and waits (bounded, 10 s) until it accepts connections.
 * The port is chosen before HAProxy binds it, so a port taken meanwhile is retried (3 tries).
 * @throws Error with HAProxy's output when it does not start
 */
export async function startHaproxy(servers: number[], options: Omit<HaproxyOptions, "port" | "servers"> = {}): Promise<Haproxy> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce({ port: freePort(), servers, ...options });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(options: HaproxyOptions): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), "berth-haproxy-"));
  const configPath = join(dir, "haproxy.cfg");
  const statsSocket = join(dir, "admin.sock");
  writeFileSync(configPath, haproxyConfig({ ...options, statsSocket }));
  const chunks: string[] = [];
  let proc: Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn([HAPROXY_BIN, "-db", "-f", configPath], { cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  void collect(proc.stdout, chunks);
  void collect(proc.stderr, chunks);
  const output = () => chunks.join("");
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(5000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await Bun.sleep(100); // the pipes may still hold its last words
      const text = output();
      await stop();
      throw new Error(`HAProxy exited (${proc.exitCode ?? proc.signalCode}) before it listened on ${options.port}:\n${text}`);
    }
    if (await accepts(options.port)) break;
    if (Date.now() > deadline) {
      const text = output();
      await stop();
      throw new Error(`HAProxy did not listen on 127.0.0.1:${options.port} within 10 s:\n${text}`);
    }
    await Bun.sleep(20);
  }
  return { port: options.port, url: `http://127.0.0.1:${options.port}`, pid: proc.pid, output, stop, servers: () => serverStates(statsSocket) };
}

/** `show stat` on the admin socket, the backend's server rows (bounded: 5 s). */
async function serverStates(socketPath: string): Promise<ServerState[]> {
  const chunks: string[] = [];
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  // HAProxy answers one command and closes the connection
  const socket = await Bun.connect({
    unix: socketPath,
    socket: {
      data(_socket, data) {
        chunks.push(new TextDecoder().decode(data));
      },
      close() {
        resolve();
      },
      open(socket) {
        socket.write("show stat\n");
      },
    },
  });
  const timer = setTimeout(() => socket.end(), 5000);
  await closed;
  clearTimeout(timer);
  const lines = chunks.join("").split("\n");
  const header = (lines[0] ?? "").replace(/^# /, "").split(",");
  const column = (name: string) => header.indexOf(name);
  const [proxy, server, status, check] = [column("pxname"), column("svname"), column("status"), column("check_status")];
  return lines
    .slice(1)
    .map((line) => line.split(","))
    .filter((fields) => fields[proxy] === "replicas" && fields[server] !== "BACKEND" && fields[server] !== undefined)
    .map((fields) => ({ name: fields[server] ?? "", status: fields[status] ?? "", check: fields[check] ?? "" }));
}

/** Does something accept TCP connections on 127.0.0.1:port? */
async function accepts(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

async function collect(stream: ReadableStream<Uint8Array>, chunks: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
}
