/**
 * One server process for the tests (Berth, Distribution's docker-registry): spawned with its
 * output captured, ready once its start line names the port it bound on 127.0.0.1 (the server
 * binds port 0, so no port is chosen before it starts and lost to another process), stopped
 * with SIGTERM (SIGKILL after 5 s) or killed with SIGKILL. Every wait is bounded.
 */
import type { Subprocess } from "bun";

export interface ServerProcess {
  proc: Subprocess;
  /** the port the server bound, as its start line says */
  port: number;
  /** 127.0.0.1:port, as docker and skopeo name a registry */
  host: string;
  /** http://127.0.0.1:port */
  url: string;
  /** output captured so far (stdout + stderr) */
  output(): string;
  /** SIGTERM, then SIGKILL when it has not exited after 5 s; then the command's cleanup */
  stop(): Promise<void>;
  /** SIGKILL; what the server left stays (stop() afterwards cleans up) */
  kill9(): Promise<void>;
}

export interface ServerCommand {
  /** names the server in failure messages, e.g. "Berth" */
  name: string;
  cmd: string[];
  cwd: string;
  env: Record<string, string>;
  /** the port named by the server's start line in `output`, or undefined while it has not started */
  boundPort(output: string): number | undefined;
  /** removes what was made for this server (its root, its config): after stop(), or when it fails to start */
  cleanup?: () => void;
  timeoutMs?: number;
}

export async function startServer(command: ServerCommand): Promise<ServerProcess> {
  const cleanup = command.cleanup ?? (() => {});
  const chunks: string[] = [];
  const output = () => chunks.join("");
  let proc: Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn(command.cmd, { cwd: command.cwd, env: command.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (error) {
    cleanup();
    throw error;
  }
  void collect(proc.stdout, chunks);
  void collect(proc.stderr, chunks);
  const kill9 = async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  };
  let port: number;
  try {
    port = await startLinePort(command, proc, output);
  } catch (error) {
    await kill9();
    cleanup();
    throw error;
  }
  const host = `127.0.0.1:${port}`;
  return {
    proc,
    port,
    host,
    url: `http://${host}`,
    output,
    async stop() {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(5000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
      cleanup();
    },
    kill9,
  };
}

/** Waits (bounded) for the start line; throws with the output when the server exits first or never prints it. */
async function startLinePort(command: ServerCommand, proc: Subprocess, output: () => string): Promise<number> {
  const timeoutMs = command.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const port = command.boundPort(output());
    if (port !== undefined) return port;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await Bun.sleep(100); // the pipes may still hold its last words
      throw new Error(`${command.name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${output()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${command.name} printed no start line naming its port within ${timeoutMs} ms (is its log level above info?):\n${output()}`);
    }
    await Bun.sleep(20);
  }
}

async function collect(stream: ReadableStream<Uint8Array>, chunks: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
}

/** The port at the end of an address `host:port` (`[::1]:5000` too), or undefined. */
export function portOf(address: string): number | undefined {
  const match = /:(\d{1,5})$/.exec(address);
  const port = match?.[1] === undefined ? NaN : Number(match[1]);
  return port > 0 && port < 65536 ? port : undefined;
}

export interface Exited {
  code: number;
  stdout: string;
  stderr: string;
  /** killed at the time limit */
  timedOut: boolean;
}

/** Runs a command to completion with a hard time limit (SIGKILL, default 30 s); returns how it ended. */
export async function runToExit(cmd: string[], options: { cwd: string; env: Record<string, string>; stdin?: string; timeoutMs?: number }): Promise<Exited> {
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, options.timeoutMs ?? 30_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** The servers a test file started and has not stopped: their output goes with a failure, afterAll stops them. */
export class RunningServers {
  private readonly servers = new Set<{ output(): string; stop(): Promise<void> }>();

  list(): { output(): string }[] {
    return [...this.servers];
  }

  async started<S extends { output(): string; stop(): Promise<void> }>(server: Promise<S>): Promise<S> {
    const started = await server;
    this.servers.add(started);
    return started;
  }

  async stopped(server: { output(): string; stop(): Promise<void> }): Promise<void> {
    await server.stop();
    this.servers.delete(server);
  }

  async stopAll(): Promise<void> {
    for (const server of this.servers) await server.stop();
    this.servers.clear();
  }
}
