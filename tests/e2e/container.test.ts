/**
 * The container image (Containerfile, npm run image): built FROM scratch here, run as the
 * tutorials run registry:2 (-p, a volume on /var/lib/registry), pushed to and pulled from with
 * docker, restarted with its data kept; it runs as a non-root user.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { buildTestImage, docker, ensureDocker, exec, pullImage, pushImage, removeImage, runImage, tagImage } from "../helpers/docker.ts";
import { berthCommand, repoRoot } from "../helpers/server.ts";

const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const imageTag = `berth-e2e/berth:${id}`;
const volume = `berth-e2e-data-${id}`;
const container = `berth-e2e-${id}`;
const cleanup: string[] = [];

afterAll(async () => {
  await docker(["rm", "--force", container], { allowFailure: true });
  await docker(["volume", "rm", "--force", volume], { allowFailure: true });
  for (const ref of [...cleanup, imageTag]) await removeImage(ref).catch(() => undefined);
});

/**
 * How the test reaches the container: `-p 127.0.0.1::5000` as the tutorials do when the
 * daemon has its bridge network; a daemon started with --bridge=none (tests/machine.sh, where
 * the sandbox allows no bridge) cannot publish ports, so the container then shares the host's
 * network and listens on a free loopback port instead.
 */
async function networking(): Promise<{ args: string[]; port: (() => Promise<number>) | number }> {
  const networks = (await docker(["network", "ls", "--format", "{{.Name}}"])).stdout.split("\n");
  if (networks.includes("bridge")) return { args: ["-p", "127.0.0.1::5000"], port: publishedPort };
  console.warn("docker has no bridge network (dockerd --bridge=none): -p cannot publish here, so the container runs with --network host");
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return { args: ["--network", "host", "-e", `BERTH_HTTP_ADDR=127.0.0.1:${port}`], port };
}

/** The host port docker published for the container's 5000 (it may change on restart). */
async function publishedPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const inspect = await docker(["inspect", "--format", '{{with index .NetworkSettings.Ports "5000/tcp"}}{{(index . 0).HostPort}}{{end}}', container], { allowFailure: true });
    const port = Number(inspect.stdout.trim());
    if (port > 0) return port;
    await Bun.sleep(100);
  }
  throw new Error("docker published no port for 5000/tcp");
}

async function healthy(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
    if (answer?.status === 200) return;
    await Bun.sleep(100);
  }
  const logs = await docker(["logs", container], { allowFailure: true });
  throw new Error(`the container never answered /healthz:\n${logs.stdout}${logs.stderr}`);
}

test("npm run image builds an image that serves, keeps its data across a restart and runs as non-root", async () => {
  await ensureDocker();
  const built = await exec(["bash", join(repoRoot, "scripts/image.sh"), imageTag], { env: { BERTH_BIN: berthCommand()[0] as string, DOCKER_BUILDKIT: "0" }, timeoutMs: 180_000 });
  const size = /built \S+: (\d+) MiB/.exec(built.stdout)?.[1];
  expect(Number(size)).toBeGreaterThan(10);
  console.log(`image size: ${size} MiB`);
  const inspect = await docker(["image", "inspect", "--format", "{{.Config.User}} {{json .Config.Volumes}} {{len .RootFS.Layers}}", imageTag]);
  expect(inspect.stdout.trim()).toBe('10001:10001 {"/var/lib/registry":{}} 2');

  const network = await networking();
  const portNow = async () => (typeof network.port === "number" ? network.port : network.port());
  await docker(["run", "-d", "--name", container, ...network.args, "--restart=always", "-v", `${volume}:/var/lib/registry`, imageTag]);
  let port = await portNow();
  await healthy(port);
  const top = await docker(["top", container, "-o", "user,pid"]);
  expect(top.stdout.trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/)[0])).toEqual(["10001"]);

  const testImage = await buildTestImage({ name: "container-e2e" });
  cleanup.push(testImage.tag);
  const ref = `127.0.0.1:${port}/e2e/app:v1`;
  await tagImage(testImage.tag, ref);
  const digest = await pushImage(ref);
  await removeImage(testImage.id);
  expect(await pullImage(ref)).toBe(digest);
  expect((await runImage(ref)).trim()).toBe(testImage.text);

  await docker(["restart", container], { timeoutMs: 60_000 });
  port = await portNow();
  await healthy(port);
  const again = `127.0.0.1:${port}/e2e/app:v1`;
  await removeImage(testImage.id);
  expect(await pullImage(again)).toBe(digest);
  cleanup.push(again, ref);
}, 300_000);
