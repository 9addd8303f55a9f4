/**
 * Records dockerd's request pattern for a push, run by hand (see bench/README.md):
 *
 *   node_modules/.bin/bun bench/record-docker-push.ts [--registry distribution|PATH] [--out FILE]
 *
 * Starts a registry on loopback (Distribution, or the Berth binary at PATH), puts a logging
 * TCP proxy in front of it, builds the bench's 5-layer docker image (as the docker group does)
 * and runs `docker push` through the proxy. Writes what dockerd sent (request sequence, path
 * shapes, headers, body read and chunk sizes, timings) to bench/patterns/docker-push.json,
 * which the push-docker-pattern group replays.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fullConfig, repoRoot } from "./config.ts";
import { DataCache } from "./data.ts";
import { exec, execOk, versionLine } from "./exec.ts";
import { startRecordingProxy } from "./pattern/proxy.ts";
import { patternFromExchanges } from "./pattern/summarize.ts";
import { startServer } from "./servers.ts";
import { buildImage } from "./workloads/docker.ts";

const DOCKER_TIMEOUT_MS = 600_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      registry: { type: "string", default: "distribution" },
      out: { type: "string", default: join(repoRoot, "bench/patterns/docker-push.json") },
      raw: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log("Usage: bun bench/record-docker-push.ts [--registry distribution|PATH-to-berth] [--out FILE] [--raw FILE]");
    return;
  }
  const log = (line: string) => console.error(`[record] ${line}`);
  const config = fullConfig();
  const work = mkdtempSync(join(tmpdir(), "berth-record-"));
  config.workDir = work;
  const target = values.registry === "distribution" ? "distribution" : "berth";
  if (target === "berth") config.berthCommand = [resolve(values.registry)];
  const data = new DataCache(join(work, "data"));
  const runId = `rec${Date.now().toString(36)}`;
  const image = await buildImage(config, data, runId, log);
  const server = await startServer(target, config);
  const t0 = performance.now();
  const proxy = startRecordingProxy(Number(server.host.split(":")[1]), () => performance.now() - t0);
  const ref = `127.0.0.1:${proxy.port}/bench/image:${runId}`;
  try {
    await execOk(["docker", "load", "-q", "-i", image.tar], { timeoutMs: DOCKER_TIMEOUT_MS });
    await execOk(["docker", "tag", image.sourceTag, ref], { timeoutMs: 60_000 });
    // the image id is the digest of its config blob, which dockerd pushes after the layers
    const inspect = await execOk(["docker", "image", "inspect", "--format", "{{.Id}}", ref], { timeoutMs: 60_000 });
    log(`docker push ${ref} (through the proxy to ${target} at ${server.host})`);
    const push = await execOk(["docker", "push", ref], { timeoutMs: DOCKER_TIMEOUT_MS });
    log(`pushed in ${(push.wallMs / 1000).toFixed(2)} s; ${proxy.exchanges.length} requests on ${proxy.connections()} connections`);
    if (values.raw) writeFileSync(values.raw, JSON.stringify(proxy.exchanges));
    if (proxy.errors.length > 0) throw new Error(`the proxy could not parse the traffic:\n${proxy.errors.join("\n")}`);
    const pattern = patternFromExchanges(proxy.exchanges, {
      recordedAt: new Date().toISOString(),
      docker: versionLine(["docker", "version", "--format", "{{.Server.Version}}"]) ?? "unknown",
      registry: target === "distribution" ? (versionLine([config.distributionBin, "--version"]) ?? "distribution") : `berth (${values.registry})`,
      layers: image.layers,
      imageBytes: image.imageBytes,
      pushWallMs: push.wallMs,
      connections: proxy.connections(),
      configDigest: inspect.stdout.trim(),
    });
    writeFileSync(values.out, `${JSON.stringify(pattern, null, 1)}\n`);
    log(`wrote ${values.out}`);
  } finally {
    proxy.stop();
    await exec(["docker", "rmi", ref], { timeoutMs: 60_000 });
    await exec(["docker", "rmi", image.sourceTag], { timeoutMs: 60_000 });
    image.forgetDaemon();
    image.startedDaemon?.kill("SIGTERM");
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
