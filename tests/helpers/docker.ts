/**
 * Helpers for end-to-end tests that drive real clients (docker, skopeo) against a registry.
 *
 * - exec(): run a command with a hard time limit, capture its output, throw on failure.
 * - ensureDocker(): fail fast with a clear message when no Docker daemon is reachable.
 * - buildTestImage(): a 3-layer image FROM scratch around a static busybox, built with the
 *   legacy builder (the daemon is Debian's 20.10; there is no buildx), runnable without network.
 * - push/pull/run/remove helpers that return what the tests assert on (digests, output).
 *
 * Everything is bounded in time; images a test creates are removed by removeImage().
 */
import { copyFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit } from "./process.ts";
import { removeDir, tempDir } from "./server.ts";

export interface ExecOptions {
  /** hard limit; the process is killed with SIGKILL when it is reached (default 60 s) */
  timeoutMs?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** do not throw on a non-zero exit status */
  allowFailure?: boolean;
  /** written to the command's standard input (none otherwise) */
  stdin?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Environment for the docker CLI: legacy builder (no buildx here), no hints or prompts. */
export const dockerEnv: Record<string, string> = {
  DOCKER_BUILDKIT: "0",
  DOCKER_CLI_HINTS: "false",
};

export async function exec(cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) if (value !== undefined) env[key] = value;
  const ended = await runToExit(cmd, {
    cwd: options.cwd ?? process.cwd(),
    env,
    timeoutMs,
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  });
  const result: ExecResult = { exitCode: ended.code, stdout: ended.stdout, stderr: ended.stderr, timedOut: ended.timedOut };
  if (result.timedOut) {
    throw new Error(`${cmd.join(" ")} timed out after ${timeoutMs} ms\n${formatOutput(result)}`);
  }
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new Error(`${cmd.join(" ")} exited with ${result.exitCode}\n${formatOutput(result)}`);
  }
  return result;
}

function formatOutput(result: ExecResult): string {
  const tail = (text: string) => (text.length > 4000 ? `…${text.slice(-4000)}` : text);
  return `--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`;
}

/**
 * Environment naming the daemon the image helpers below talk to: {} for the machine's, a private
 * daemon's `env` (tests/helpers/dockerd.ts) for that one.
 */
export type DaemonEnv = Record<string, string>;

export async function docker(args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return exec(["docker", ...args], { ...options, env: { ...dockerEnv, ...options.env } });
}

/** Throws a readable error when the Docker daemon does not answer within 20 s. */
export async function ensureDocker(): Promise<void> {
  const result = await exec(["docker", "info", "--format", "{{.ServerVersion}}"], {
    timeoutMs: 20_000,
    allowFailure: true,
    env: dockerEnv,
  }).catch((error: unknown) => ({
    exitCode: -1,
    stdout: "",
    stderr: String(error),
    timedOut: false,
  }));
  if (result.exitCode !== 0 || result.stdout.trim() === "") {
    throw new Error(
      "The Docker daemon is not reachable (`docker info` failed). Run the tests with `npm test` " +
        "(tests/run.sh starts dockerd), or start one: dockerd --iptables=false --bridge=none\n" +
        result.stderr,
    );
  }
}

/** Path of a statically linked busybox (busybox-static), or an error saying how to get one. */
export function staticBusybox(): string {
  const candidates = [process.env.BERTH_TEST_BUSYBOX, "/bin/busybox", "/usr/bin/busybox"];
  for (const path of candidates) {
    if (path && existsSync(path) && isStaticElf(path)) return path;
  }
  throw new Error("No statically linked busybox found; install busybox-static (apt-get install busybox-static)");
}

/** True when the file is an ELF64 executable without a PT_INTERP program header. */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) !== 64) return false;
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return false; // "\x7fELF", 64-bit
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    if (phnum > 64 || phentsize < 4) return false;
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP: dynamically linked
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

export interface TestImage {
  /** the local tag it was built under, e.g. berth-e2e/busybox:1a2b3c */
  tag: string;
  /** image ID (config digest), the same after push and pull */
  id: string;
  /** what `docker run` prints: the content of /etc/berth-version */
  text: string;
  /** number of filesystem layers */
  layers: number;
}

function nonce(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Builds a 3-layer image FROM scratch:
 *   layer 1: /bin/busybox (static) and /bin/.berth-nonce (so no other local image shares it and a
 *            pull really has to fetch every layer),
 *   layer 2: /etc/berth-version with a unique text,
 *   layer 3: /etc/berth-extra,
 *   CMD ["/bin/busybox", "cat", "/etc/berth-version"].
 */
export async function buildTestImage(options: { name?: string; text?: string; daemon?: DaemonEnv } = {}): Promise<TestImage> {
  const id = nonce();
  const text = options.text ?? `berth-e2e ${id}`;
  const tag = `berth-e2e/${options.name ?? "busybox"}:${id}`;
  const dir = tempDir("berth-docker-ctx-");
  try {
    mkdirSync(join(dir, "bin"));
    copyFileSync(staticBusybox(), join(dir, "bin/busybox"));
    writeFileSync(join(dir, "bin/.berth-nonce"), `${id}\n`);
    writeFileSync(join(dir, "berth-version"), `${text}\n`);
    writeFileSync(join(dir, "berth-extra"), `extra layer for ${id}\n`);
    writeFileSync(
      join(dir, "Dockerfile"),
      [
        "FROM scratch",
        "COPY bin/ /bin/",
        "COPY berth-version /etc/berth-version",
        "COPY berth-extra /etc/berth-extra",
        'CMD ["/bin/busybox", "cat", "/etc/berth-version"]',
        "",
      ].join("\n"),
    );
    return await buildImage(dir, tag, text, options.daemon);
  } finally {
    removeDir(dir);
  }
}

/** Builds the Dockerfile in `dir` as `tag`; its id and layer count as docker reports them. */
export async function buildImage(dir: string, tag: string, text: string, daemon: DaemonEnv = {}): Promise<TestImage> {
  await docker(["build", "--quiet", "--tag", tag, dir], { timeoutMs: 90_000, env: daemon });
  const inspect = await docker(["image", "inspect", "--format", "{{.Id}} {{len .RootFS.Layers}}", tag], { env: daemon });
  const [imageId, layers] = inspect.stdout.trim().split(" ");
  if (!imageId || !layers) throw new Error(`Unexpected docker image inspect output: ${inspect.stdout}`);
  return { tag, id: imageId, text, layers: Number(layers) };
}

export async function tagImage(source: string, target: string, daemon: DaemonEnv = {}): Promise<void> {
  await docker(["tag", source, target], { env: daemon });
}

/** `docker push`; returns the manifest digest docker reports ("<tag>: digest: sha256:… size: N"). */
export async function pushImage(ref: string, daemon: DaemonEnv = {}): Promise<string> {
  const result = await docker(["push", ref], { timeoutMs: 120_000, env: daemon });
  const match = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(result.stdout);
  if (!match?.[1]) throw new Error(`No digest in docker push output:\n${result.stdout}\n${result.stderr}`);
  return match[1];
}

/** `docker pull`; returns the manifest digest docker reports ("Digest: sha256:…"). */
export async function pullImage(ref: string, daemon: DaemonEnv = {}): Promise<string> {
  const result = await docker(["pull", ref], { timeoutMs: 120_000, env: daemon });
  const match = /Digest: (sha256:[0-9a-f]{64})/.exec(result.stdout);
  if (!match?.[1]) throw new Error(`No digest in docker pull output:\n${result.stdout}\n${result.stderr}`);
  return match[1];
}

/** `docker run --rm --network none`; returns stdout. */
export async function runImage(ref: string, daemon: DaemonEnv = {}): Promise<string> {
  const result = await docker(["run", "--rm", "--network", "none", ref], { timeoutMs: 60_000, env: daemon });
  return result.stdout;
}

export async function imageExists(ref: string, daemon: DaemonEnv = {}): Promise<boolean> {
  const result = await docker(["image", "inspect", ref], { allowFailure: true, timeoutMs: 20_000, env: daemon });
  return result.exitCode === 0;
}

/**
 * Removes an image and every tag pointing at it (by image ID), so that a following pull has to
 * download all of its layers. Missing images are fine.
 */
export async function removeImage(idOrRef: string, daemon: DaemonEnv = {}): Promise<void> {
  await docker(["rmi", "--force", idOrRef], { allowFailure: true, timeoutMs: 60_000, env: daemon });
  if (await imageExists(idOrRef, daemon)) throw new Error(`docker rmi --force ${idOrRef} left the image in place`);
}
