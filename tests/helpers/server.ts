/**
 * Starts a real Berth process on loopback with a fresh data directory. Berth binds port 0 and
 * the port it got is read from its start line, so no port is chosen before it binds.
 *
 * Uses the compiled binary named by BERTH_BIN (tests/run.sh builds dist/berth and sets it),
 * else runs the sources with the current Bun. Every wait is bounded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, test as bunTest } from "bun:test";
import { type Exited, portOf, RunningServers, runToExit, type ServerProcess, startServer } from "./process.ts";

export const repoRoot = resolve(import.meta.dir, "../..");

export interface BerthProcess extends ServerProcess {
  /** storage root (Distribution's rootdirectory); stop() removes it when startBerth made it */
  root: string;
}

export interface StartOptions {
  /** reuse a storage root (e.g. after a restart), which the caller removes; a fresh temp dir, removed by stop(), otherwise */
  root?: string;
  env?: Record<string, string>;
  args?: string[];
  /** the port to bind; the kernel's choice (port 0) otherwise */
  port?: number;
  /** the configuration places the server (address, root): no BERTH_HTTP_ADDR or BERTH_STORAGE_ROOT */
  placedByConfig?: boolean;
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

/**
 * The port in Berth's start line (`berth listening ... addr=127.0.0.1:PORT`, or its JSON form
 * `"msg":"berth listening",...,"addr":"127.0.0.1:PORT"`), or undefined before Berth printed it.
 */
export function berthListeningPort(output: string): number | undefined {
  for (const line of output.split("\n")) {
    if (!line.includes("berth listening")) continue;
    const addr = / addr=(\S+)/.exec(line)?.[1] ?? /"addr":"([^"]+)"/.exec(line)?.[1];
    if (addr !== undefined) return portOf(addr);
  }
  return undefined;
}

/**
 * Starts `berth serve` (or `args`) in `root` and waits for its start line, which names the port it
 * bound. That line is an info line: Berth runs at log level info (BERTH_LOG_LEVEL, over what a
 * configuration file says) unless `env` sets the level or the configuration places the server.
 */
export async function startBerth(options: StartOptions = {}): Promise<BerthProcess> {
  const madeRoot = options.root === undefined;
  const root = options.root ?? tempDir();
  const server = await startServer({
    name: "Berth",
    cmd: [...berthCommand(), ...(options.args ?? ["serve"])],
    cwd: root,
    env: berthEnv({
      ...(options.placedByConfig ? {} : { BERTH_HTTP_ADDR: `127.0.0.1:${options.port ?? 0}`, BERTH_STORAGE_ROOT: root, BERTH_LOG_LEVEL: "info" }),
      ...options.env,
    }),
    boundPort: berthListeningPort,
    cleanup: () => {
      if (madeRoot) removeDir(root);
    },
  });
  return { ...server, root };
}

/** Runs `berth <args>` to completion (bounded, 30 s by default) and returns its exit code and output. */
export function runBerth(args: string[], options: { cwd?: string; stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Exited> {
  return runToExit([...berthCommand(), ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: berthEnv(options.env),
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
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
export async function waitForOutput(
  berth: Pick<BerthProcess, "output">,
  pattern: RegExp | string | ((output: string) => boolean),
  timeoutMs = 3_000,
): Promise<string> {
  const matches = () => {
    const output = berth.output();
    return typeof pattern === "string" ? output.includes(pattern) : typeof pattern === "function" ? pattern(output) : pattern.test(output);
  };
  const deadline = Date.now() + timeoutMs;
  while (!matches() && Date.now() < deadline) await Bun.sleep(20);
  return berth.output();
}

/**
 * bun's test() and test.each(), with the tail of the servers' output appended to a failure (Berth
 * logs the details of a 500 there). `servers` is read at failure time, so it sees restarted processes.
 */
export function testWithServerLog(servers: () => ({ output(): string } | undefined)[]) {
  const test = (name: string, body: () => Promise<void>, timeoutMs?: number): void => {
    bunTest(name, withServerLog(servers, body), timeoutMs);
  };
  const each =
    <const T extends unknown[]>(cases: readonly T[]) =>
    (name: string, body: (...args: T) => Promise<void>, timeoutMs?: number): void => {
      // bun passes each case's values as the arguments: they are a T
      bunTest.each<unknown[]>(cases)(name, (...args: unknown[]) => withServerLog(servers, () => body(...(args as T)))(), timeoutMs);
    };
  return Object.assign(test, { each });
}

/**
 * The servers a test file starts, stopped after all its tests, then its clean-ups (last first);
 * `test` appends the servers' output to a failure.
 */
export function serverSuite() {
  const servers = new RunningServers();
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await servers.stopAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return { servers, cleanups, test: testWithServerLog(() => servers.list()) };
}
