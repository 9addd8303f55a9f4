/**
 * A dockerd private to one test file: its own data root, exec root (and so its own containerd),
 * pid file and socket under a temporary directory; the machine's daemon is never touched.
 *
 * - `bridge: true`: default bridge networking as the tutorials assume (`docker run -p` works),
 *   on a bridge of its own (berthbrXXXX, 10.213.N.1/24) the helper creates, iptables enabled.
 *   `--ip-forward=false` so that the daemon never turns on the host's forwarding nor sets the
 *   FORWARD policy to DROP (published loopback ports go through docker-proxy: no forwarding).
 * - otherwise `--iptables=false --bridge=none`: containers get no network but `none`/`host`.
 *
 * stop() removes its containers' leftovers, then everything it made: the daemon (SIGTERM, SIGKILL
 * after 30 s), its containerd, mounts, directory, bridge and the iptables rules it added.
 * Needs root (as dockerd does). Every wait is bounded.
 */
import type { Subprocess } from "bun";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dockerEnv, exec, type ExecOptions, type ExecResult } from "./docker.ts";
import { type IptablesSnapshot, removeDockerdRules, snapshotIptables } from "./iptables.ts";
import { removeDir, tempDir } from "./server.ts";

export interface PrivateDockerd {
  /** the environment that points the docker CLI (and the docker.ts helpers) at this daemon */
  env: Record<string, string>;
  /** the docker CLI against this daemon */
  docker(args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** the daemon's log so far */
  log(): string;
  stop(): Promise<void>;
}

export interface PrivateDockerdOptions {
  /** a bridge network of its own, so that `docker run -p` publishes ports (default false) */
  bridge?: boolean;
  /** more dockerd flags, e.g. --registry-mirror */
  args?: string[];
}

interface Bridge {
  name: string;
  /** the /24's first three octets and a dot, e.g. "10.213.7." */
  prefix: string;
  iptablesBefore: IptablesSnapshot;
}

/** A /24 under 10.213/16 that no address or route of the host uses. */
async function freeSubnet(): Promise<string> {
  const used = (await exec(["ip", "-4", "-o", "addr"])).stdout + (await exec(["ip", "-4", "route"])).stdout;
  for (let i = 0; i < 50; i++) {
    const prefix = `10.213.${Math.floor(Math.random() * 256)}.`;
    if (!used.includes(prefix)) return prefix;
  }
  throw new Error("no free /24 under 10.213.0.0/16 for a test bridge");
}

async function createBridge(): Promise<Bridge> {
  const iptablesBefore = await snapshotIptables();
  const name = `berthbr${Math.random().toString(36).slice(2, 6)}`;
  const prefix = await freeSubnet();
  await exec(["ip", "link", "add", name, "type", "bridge"]);
  try {
    await exec(["ip", "addr", "add", `${prefix}1/24`, "dev", name]);
    await exec(["ip", "link", "set", name, "up"]);
  } catch (error) {
    await exec(["ip", "link", "del", name], { allowFailure: true });
    throw error;
  }
  return { name, prefix, iptablesBefore };
}

export async function startDockerd(options: PrivateDockerdOptions = {}): Promise<PrivateDockerd> {
  const dir = tempDir("berth-private-dockerd-");
  const socket = join(dir, "docker.sock");
  const logPath = join(dir, "dockerd.log");
  const execRoot = join(dir, "exec");
  const env = { ...dockerEnv, DOCKER_HOST: `unix://${socket}` };
  const docker = (args: string[], execOptions: ExecOptions = {}) => exec(["docker", ...args], { ...execOptions, env: { ...env, ...execOptions.env } });
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  let bridge: Bridge | undefined;
  let proc: Subprocess | undefined;

  const stop = async () => {
    if (proc) {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(30_000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    }
    // the containerd it started outlives it when it was killed
    const containerdPid = Number(readIfExists(join(execRoot, "containerd/containerd.pid")).trim());
    if (containerdPid > 0 && isAlive(containerdPid)) {
      process.kill(containerdPid, "SIGKILL");
      for (let i = 0; i < 50 && isAlive(containerdPid); i++) await Bun.sleep(100);
    }
    for (const mounted of [join(dir, "data"), execRoot]) await exec(["umount", "-R", "-l", mounted], { allowFailure: true, timeoutMs: 20_000 });
    removeDir(dir);
    if (bridge) {
      await exec(["ip", "link", "del", bridge.name], { allowFailure: true });
      if (proc) await removeDockerdRules(bridge.iptablesBefore, proc.pid, bridge.name, bridge.prefix);
    }
  };

  try {
    bridge = options.bridge ? await createBridge() : undefined;
    const network = bridge ? ["--bridge", bridge.name, "--ip-forward=false"] : ["--iptables=false", "--bridge=none"];
    // a file, not a pipe: a pipe nobody reads would block the daemon once full
    const logFd = openSync(logPath, "a");
    try {
      proc = Bun.spawn(
        ["dockerd", "--data-root", join(dir, "data"), "--exec-root", execRoot, "--pidfile", join(dir, "docker.pid"), "-H", `unix://${socket}`, ...network, ...(options.args ?? [])],
        { stdin: "ignore", stdout: logFd, stderr: logFd },
      );
    } finally {
      closeSync(logFd);
    }
    await waitReady(proc, docker, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { env, docker, log, stop };
}

/** Waits (at most 60 s) until the daemon answers `docker info`; throws with its log otherwise. */
async function waitReady(proc: Subprocess, docker: PrivateDockerd["docker"], log: () => string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const info = await docker(["info", "--format", "{{.ServerVersion}}"], { allowFailure: true, timeoutMs: 5000 }).catch(() => null);
    if (info?.exitCode === 0) return;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the private dockerd exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${log().slice(-4000)}`);
    await Bun.sleep(500);
  }
  throw new Error(`the private dockerd did not answer within 60 s:\n${log().slice(-4000)}`);
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
