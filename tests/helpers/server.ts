/**
 * Starts a real Berth process on a free loopback port with a fresh data directory.
 *
 * Uses the compiled binary named by BERTH_BIN (tests/run.sh builds dist/berth and sets it),
 * else runs the sources with the current Bun. Every wait is bounded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { test as bunTest } from "bun:test";

export const repoRoot = resolve(import.meta.dir, "../..");

export interface BerthProcess {
  url: string;
  /** host:port, as docker and skopeo name the registry */
  host: string;
  port: number;
  /** storage root (Distribution's rootdirectory) */
  root: string;
  proc: Subprocess;
  /** output captured so far (stdout + stderr) */
  output(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export interface StartOptions {
  /** reuse a storage root (e.g. after a restart); a fresh temp dir otherwise */
  root?: string;
  env?: Record<string, string>;
  args?: string[];
  port?: number;
}

export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port;
  server.stop(true);
  if (port === undefined) throw new Error("No free port");
  return port;
}

export function tempDir(prefix = "berth-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * The environment for a Berth process: this one's without BERTH_* and REGISTRY_* variables
 * (BERTH_BIN and the like would stop it: an unknown BERTH_ variable is refused), plus `extra`.
 */
export function berthEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("BERTH_") && !key.startsWith("REGISTRY_")) env[key] = value;
  }
  return { ...env, ...extra };
}

export function berthCommand(): string[] {
  const bin = process.env.BERTH_BIN;
  return bin ? [resolve(bin)] : [process.execPath, join(repoRoot, "src/main.ts")];
}

export async function startBerth(options: StartOptions = {}): Promise<BerthProcess> {
  const root = options.root ?? tempDir();
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const chunks: string[] = [];
  const proc = Bun.spawn([...berthCommand(), ...(options.args ?? ["serve"])], {
    cwd: root,
    env: berthEnv({
      BERTH_HTTP_ADDR: host,
      BERTH_STORAGE_ROOT: root,
      ...options.env,
    }),
    stdout: "pipe",
    stderr: "pipe",
  });
  void collect(proc.stdout, chunks);
  void collect(proc.stderr, chunks);
  const url = `http://${host}`;
  await waitForReady(url, proc, chunks);
  return {
    url,
    host,
    port,
    root,
    proc,
    output: () => chunks.join(""),
    async stop() {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(5000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

async function collect(stream: ReadableStream<Uint8Array>, chunks: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
}

async function waitForReady(url: string, proc: Subprocess, chunks: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      throw new Error(`Berth exited with ${proc.exitCode} before it was ready:\n${chunks.join("")}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  proc.kill("SIGKILL");
  throw new Error(`Berth did not answer on ${url} within 15 s:\n${chunks.join("")}`);
}

export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/**
 * Wraps a test body so that, when it fails, the error also carries the tail of the output of the
 * server(s) involved (Berth logs the details of a 500 there, not in the response).
 * `servers` is called at failure time, so it sees restarted processes.
 */
export function withServerLog(
  servers: () => ({ output(): string } | undefined)[],
  body: () => Promise<void>,
): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      const logs = servers()
        .map((server) => server?.output().trim().split("\n").slice(-40).join("\n") ?? "")
        .filter((text) => text !== "");
      if (logs.length > 0 && error instanceof Error) {
        error.message += `\n--- server output (last lines)\n${logs.join("\n---\n")}`;
      }
      throw error;
    }
  };
}

/** Waits (at most `timeoutMs`) until the process output matches: log lines arrive through a pipe. */
export async function waitForOutput(berth: Pick<BerthProcess, "output">, pattern: RegExp | string, timeoutMs = 3_000): Promise<string> {
  const matches = () => (typeof pattern === "string" ? berth.output().includes(pattern) : pattern.test(berth.output()));
  const deadline = Date.now() + timeoutMs;
  while (!matches() && Date.now() < deadline) await Bun.sleep(20);
  return berth.output();
}

/**
 * bun's test(), with the tail of the servers' output appended to a failure (Berth logs the
 * details of a 500 there). `servers` is read at failure time, so it sees restarted processes.
 */
export function testWithServerLog(servers: () => ({ output(): string } | undefined)[]) {
  return (name: string, body: () => Promise<void>, timeoutMs?: number): void => {
    bunTest(name, withServerLog(servers, body), timeoutMs);
  };
}
