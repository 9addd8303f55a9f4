/**
 * Starts and stops the two registries on loopback, each on a free port with a fresh data
 * directory (or an S3 bucket, for the s3 group), and times exec -> first 200 on /v2/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { onInterrupt } from "./cleanup.ts";
import type { S3Target } from "./ceph.ts";
import type { BenchConfig } from "./config.ts";
import type { TargetName } from "./types.ts";

export interface RunningServer {
  target: TargetName;
  url: string;
  /** host:port, as docker names the registry */
  host: string;
  pid: number;
  /** the registry's storage root (empty at start) */
  root: string;
  /** milliseconds from spawn to the first 200 on /v2/ */
  startMs: number;
  /** tail of the server's stdout+stderr, for error messages */
  logTail(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port;
  server.stop(true);
  if (port === undefined) throw new Error("No free port");
  return port;
}

/**
 * Distribution's config: filesystem storage (or its S3 driver on `s3`, streaming blobs through
 * itself as Berth does rather than redirecting to the bucket), deletes on, no blob-descriptor
 * cache, quiet logs.
 */
export function distributionConfig(root: string, addr: string, s3?: S3Target): string {
  const storage = s3
    ? [
        "  s3:",
        `    regionendpoint: ${s3.endpoint}`,
        `    bucket: ${s3.bucket}`,
        `    accesskey: ${s3.accessKey}`,
        `    secretkey: ${s3.secretKey}`,
        `    region: ${s3.region}`,
        "    secure: false",
        "    v4auth: true",
        "  redirect:",
        "    disable: true",
      ]
    : ["  filesystem:", `    rootdirectory: ${root}`];
  return [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    ...storage,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${addr}`,
    "",
  ].join("\n");
}

/** Berth's variables for the S3 driver on `s3` (path-style URLs, streamed downloads: its defaults otherwise). */
function berthS3Env(s3: S3Target): Record<string, string> {
  return {
    BERTH_STORAGE_DRIVER: "s3",
    BERTH_STORAGE_S3_BUCKET: s3.bucket,
    BERTH_STORAGE_S3_ENDPOINT: s3.endpoint,
    BERTH_STORAGE_S3_REGION: s3.region,
    BERTH_STORAGE_S3_ACCESS_KEY: s3.accessKey,
    BERTH_STORAGE_S3_SECRET_KEY: s3.secretKey,
    BERTH_STORAGE_S3_FORCE_PATH_STYLE: "true",
  };
}

/**
 * The caller's environment without variables that would reconfigure either registry (AWS_*
 * among them: the S3 drivers read them, and AWS_CA_BUNDLE makes Distribution's panic).
 */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("BERTH_") && !key.startsWith("REGISTRY_") && !key.startsWith("AWS_")) env[key] = value;
  }
  return env;
}

/** The program a Berth target runs: this tree's binary, or the older one given as the baseline. */
export function berthProgram(target: Exclude<TargetName, "distribution">, config: BenchConfig): string[] {
  if (target === "berth") return config.berthCommand;
  if (target === "bare") throw new Error("the bare Bun server is not Berth: it has no Berth commands");
  if (!config.baselineCommand) throw new Error("the baseline target needs --baseline-bin");
  return config.baselineCommand;
}

function command(target: TargetName, config: BenchConfig, dir: string, root: string, host: string, s3?: S3Target): string[] {
  if (target === "bare") {
    if (!config.bareCommand) throw new Error("the bare Bun server was not compiled");
    return config.bareCommand;
  }
  if (target !== "distribution") return [...berthProgram(target, config), "serve"];
  const configPath = join(dir, "config.yml");
  writeFileSync(configPath, distributionConfig(root, host, s3));
  return [config.distributionBin, "serve", configPath];
}

/**
 * Starts one registry with an empty storage root and waits (bounded) for 200 on /v2/. `files`
 * are written to its working directory first (a registry.toml there is Berth's configuration).
 * With `s3`, the registry stores into that bucket (Berth keeps its index in the root).
 */
export async function startServer(target: TargetName, config: BenchConfig, files: Record<string, string> = {}, s3?: S3Target): Promise<RunningServer> {
  mkdirSync(config.workDir, { recursive: true });
  const dir = mkdtempSync(join(config.workDir, `berth-bench-${target}-`));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const root = join(dir, "data");
  mkdirSync(root);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const logPath = join(dir, "stdout.log");
  const errPath = join(dir, "stderr.log");
  const argv = command(target, config, dir, root, host, s3);
  const env = { ...inheritedEnv(), BERTH_HTTP_ADDR: host, BERTH_STORAGE_ROOT: root, ...config.berthEnv, ...(s3 ? berthS3Env(s3) : {}) };
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { cwd: dir, env, stdin: "ignore", stdout: Bun.file(logPath), stderr: Bun.file(errPath) });
  const forget = onInterrupt(() => {
    proc.kill("SIGKILL");
    if (!config.keep) rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://${host}`;
  const logTail = () => `${tail(logPath)}${tail(errPath)}`;
  let startMs: number;
  try {
    startMs = (await waitReady(url, proc)) - t0;
  } catch (error) {
    await terminate(proc);
    forget();
    if (!config.keep) rmSync(dir, { recursive: true, force: true });
    throw new Error(`${target} (${argv.join(" ")}) did not start: ${String(error)}\n${logTail()}`);
  }
  return {
    target,
    url,
    host,
    pid: proc.pid,
    root,
    startMs,
    logTail,
    async stop() {
      await terminate(proc);
      forget();
      if (!config.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls GET /v2/ every 2 ms; resolves with performance.now() of the first 200. */
async function waitReady(url: string, proc: Subprocess): Promise<number> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`exited with code ${proc.exitCode}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  throw new Error(`no 200 on ${url}/v2/ within ${READY_TIMEOUT_MS} ms`);
}

async function terminate(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  await Promise.race([proc.exited, Bun.sleep(5000)]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  await Promise.race([proc.exited, Bun.sleep(5000)]);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2000);
  } catch {
    return "";
  }
}
