/**
 * Starts Debian's `docker-registry` (CNCF Distribution 2.8.2) on a free loopback port with a given
 * filesystem root directory — the reference implementation Berth's on-disk layout must match.
 * Every wait is bounded.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, removeDir, tempDir } from "./server.ts";

export interface DistributionProcess {
  url: string;
  /** host:port, as docker and skopeo name the registry */
  host: string;
  port: number;
  /** storage.filesystem.rootdirectory */
  root: string;
  proc: Subprocess;
  /** output captured so far (stdout + stderr) */
  output(): string;
  /** SIGTERM (SIGKILL after 5 s), then removes the config directory; the root is kept */
  stop(): Promise<void>;
}

export interface DistributionOptions {
  /** storage root; a fresh temp dir otherwise (the caller removes it) */
  root?: string;
  port?: number;
  /** registry binary; DISTRIBUTION_BIN or /usr/bin/docker-registry by default */
  bin?: string;
}

export function distributionBinary(): string {
  const bin = process.env.DISTRIBUTION_BIN ?? "/usr/bin/docker-registry";
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found; install Debian's docker-registry (apt-get install docker-registry)`);
  }
  return bin;
}

export async function startDistribution(options: DistributionOptions = {}): Promise<DistributionProcess> {
  const bin = options.bin ?? distributionBinary();
  const root = options.root ?? tempDir("berth-distribution-root-");
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const configDir = tempDir("berth-distribution-config-");
  const configPath = join(configDir, "config.yml");
  writeFileSync(
    configPath,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(root)}`,
      "  delete:",
      "    enabled: true",
      "  maintenance:",
      "    uploadpurging:",
      "      enabled: false",
      "http:",
      `  addr: ${host}`,
      "  secret: berth-tests-not-a-secret",
      "",
    ].join("\n"),
  );
  const chunks: string[] = [];
  const proc = Bun.spawn([bin, "serve", configPath], {
    cwd: configDir,
    env: { ...process.env, OTEL_TRACES_EXPORTER: "none" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  void collect(proc.stdout, chunks);
  void collect(proc.stderr, chunks);
  const url = `http://${host}`;
  try {
    await waitForReady(url, proc, chunks);
  } catch (error) {
    removeDir(configDir);
    throw error;
  }
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
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
      removeDir(configDir);
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
      throw new Error(`docker-registry exited with ${proc.exitCode} before it was ready:\n${chunks.join("")}`);
    }
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  proc.kill("SIGKILL");
  await proc.exited;
  throw new Error(`docker-registry did not answer on ${url}/v2/ within 15 s:\n${chunks.join("")}`);
}
