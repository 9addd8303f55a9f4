/**
 * `docker push` then `docker pull` (after `docker rmi`) of a 5-layer image built FROM scratch
 * with the classic builder: busybox-static plus layers of random, incompressible data.
 * Wall time of each, and of both together. The client side is the docker CLI plus dockerd
 * (which compresses layers on push and decompresses them on pull), so its CPU counts as the
 * load generator's.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { BenchConfig } from "../config.ts";
import { sizeLabel } from "../config.ts";
import type { DataCache } from "../data.ts";
import { writeRandomFile } from "../data.ts";
import { onInterrupt } from "../cleanup.ts";
import { exec, execOk } from "../exec.ts";
import type { PhaseOutcome } from "../measure.ts";
import { cpuMark, cpuSince, runPhase, toMeasurement } from "../measure.ts";
import type { Measurement } from "../types.ts";
import type { RowInfo, WorkloadGroup } from "./common.ts";
import { withServer } from "./common.ts";

const BUSYBOX = "/bin/busybox";
const DOCKER_TIMEOUT_MS = 600_000;

export interface Prepared {
  tar: string;
  sourceTag: string;
  imageBytes: number;
  layers: number;
  startedDaemon: ReturnType<typeof Bun.spawn> | null;
  forgetDaemon: () => void;
}
let prepared: Prepared | null = null;

async function dockerUp(): Promise<boolean> {
  return (await exec(["docker", "info"], { timeoutMs: 20_000 })).code === 0;
}

/** Starts dockerd (as the issue describes) when it is not running; returns it, or null. */
async function ensureDaemon(log: (line: string) => void): Promise<ReturnType<typeof Bun.spawn> | null> {
  if (await dockerUp()) return null;
  if (!Bun.which("dockerd") || process.getuid?.() !== 0) throw new Error("docker daemon is not running");
  log("starting dockerd --iptables=false --bridge=none (log /tmp/dockerd.log)");
  const daemon = Bun.spawn(["dockerd", "--iptables=false", "--bridge=none"], {
    stdin: "ignore",
    stdout: Bun.file("/tmp/dockerd.log"),
    stderr: Bun.file("/tmp/dockerd.err.log"),
  });
  for (let i = 0; i < 60; i++) {
    if (await dockerUp()) return daemon;
    await Bun.sleep(500);
  }
  daemon.kill("SIGTERM");
  throw new Error("dockerd did not come up within 30 s");
}

/** Builds the image once (untimed) and saves it, so each registry gets an identical push. */
export async function buildImage(config: BenchConfig, data: DataCache, runId: string, log: (line: string) => void) {
  const spec = config.docker;
  if (!spec) throw new Error("docker workload disabled");
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing (apt-get install busybox-static)`);
  const startedDaemon = await ensureDaemon(log);
  const forgetDaemon = onInterrupt(() => startedDaemon?.kill("SIGTERM"));
  const context = join(data.dir, "docker-context");
  mkdirSync(context, { recursive: true });
  copyFileSync(BUSYBOX, join(context, "busybox"));
  const lines = ["FROM scratch", "COPY busybox /bin/busybox"];
  let imageBytes = statSync(BUSYBOX).size;
  for (let i = 1; i <= spec.layers; i++) {
    writeRandomFile(join(context, `layer${i}.bin`), spec.layerBytes);
    lines.push(`COPY layer${i}.bin /data/layer${i}.bin`);
    imageBytes += spec.layerBytes;
  }
  lines.push('CMD ["/bin/busybox", "sh"]', "");
  writeFileSync(join(context, "Dockerfile"), lines.join("\n"));
  const sourceTag = `berth-bench-src:${runId}`;
  log(`docker build ${sourceTag} (${spec.layers + 1} layers, ${sizeLabel(imageBytes)})`);
  const env = { DOCKER_BUILDKIT: "0" };
  await execOk(["docker", "build", "-q", "-t", sourceTag, context], { timeoutMs: DOCKER_TIMEOUT_MS, env });
  const tar = join(data.dir, "image.tar");
  await execOk(["docker", "save", "-o", tar, sourceTag], { timeoutMs: DOCKER_TIMEOUT_MS });
  await execOk(["docker", "rmi", sourceTag], { timeoutMs: DOCKER_TIMEOUT_MS });
  rmSync(context, { recursive: true, force: true });
  return { tar, sourceTag, imageBytes, layers: spec.layers + 1, startedDaemon, forgetDaemon };
}

function dockerdPid(): number | null {
  const out = Bun.spawnSync(["pidof", "dockerd"]).stdout.toString().trim().split(/\s+/)[0];
  const pid = Number(out);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** One timed docker command; client CPU = the CLI + dockerd's CPU during it. */
async function dockerPhase(serverPid: number, argv: string[], bytes: number, note: string): Promise<Measurement> {
  return runPhase(serverPid, async (): Promise<PhaseOutcome> => {
    const daemon = dockerdPid();
    const daemonCpu0 = daemon ? cpuMark(daemon) : null;
    const result = await execOk(argv, { timeoutMs: DOCKER_TIMEOUT_MS });
    const daemonCpu = daemon && daemonCpu0 ? cpuSince(daemon, daemonCpu0) : 0;
    return {
      ops: 1,
      bytes,
      latenciesMs: [result.wallMs],
      errors: 0,
      tool: "docker",
      childCpuSec: result.cpuSec + daemonCpu,
      clientCoreCap: availableParallelism(),
      note,
    };
  });
}

function sum(a: Measurement, b: Measurement): Measurement {
  return toMeasurement(
    {
      ops: 1,
      bytes: a.bytes + b.bytes,
      latenciesMs: [a.wallSec * 1000 + b.wallSec * 1000],
      errors: a.errors + b.errors,
      tool: "docker",
      clientCoreCap: availableParallelism(),
    },
    a.wallSec + b.wallSec,
    a.serverCpuSec + b.serverCpuSec,
    Math.max(a.serverPeakRssMb, b.serverPeakRssMb) * 1e6,
    a.clientCpuSec + b.clientCpuSec,
  );
}

export const docker: WorkloadGroup = {
  name: "docker",
  title: "docker push / pull",
  async prepare(config, data, log) {
    prepared = await buildImage(config, data, `${process.pid}-${Date.now()}`, log);
  },
  async run(ctx) {
    const image = prepared;
    if (!image) throw new Error("docker image was not prepared");
    await withServer(ctx, async (server) => {
      const ref = `${server.host}/bench/image:${ctx.runId}`;
      await execOk(["docker", "load", "-q", "-i", image.tar], { timeoutMs: DOCKER_TIMEOUT_MS });
      await execOk(["docker", "tag", image.sourceTag, ref], { timeoutMs: 60_000 });
      await execOk(["docker", "rmi", image.sourceTag], { timeoutMs: 60_000 });
      try {
        const push = await dockerPhase(server.pid, ["docker", "push", ref], image.imageBytes, "client = docker CLI + dockerd (gzips layers)");
        // nothing else references the image, so this removes its layers too
        await execOk(["docker", "rmi", ref], { timeoutMs: 60_000 });
        const pull = await dockerPhase(server.pid, ["docker", "pull", ref], image.imageBytes, "client = docker CLI + dockerd (gunzips, extracts)");
        const what = `${image.layers}-layer image, ${sizeLabel(image.imageBytes)} uncompressed`;
        const metrics: RowInfo["metrics"] = ["wallSec", "mbPerSec", "serverCpuSec", "serverPeakRssMb", "clientCpuSec"];
        ctx.record({ id: "docker-push", label: "docker push", op: `docker push of a ${what}`, metrics }, push);
        ctx.record({ id: "docker-pull", label: "docker pull", op: `docker pull (after rmi) of a ${what}`, metrics }, pull);
        ctx.record(
          { id: "docker-push-pull", label: "docker push + pull", op: `push then pull of a ${what}`, metrics },
          sum(push, pull),
        );
      } finally {
        await exec(["docker", "rmi", ref], { timeoutMs: 60_000 });
      }
    });
  },
  async cleanup() {
    if (!prepared) return;
    await exec(["docker", "rmi", prepared.sourceTag], { timeoutMs: 60_000 });
    rmSync(prepared.tar, { force: true });
    prepared.forgetDaemon();
    if (prepared.startedDaemon) {
      prepared.startedDaemon.kill("SIGTERM");
      await Promise.race([prepared.startedDaemon.exited, Bun.sleep(10_000)]);
    }
    prepared = null;
  },
};
