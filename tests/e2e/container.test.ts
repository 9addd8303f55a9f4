/**
 * The container image (Containerfile, npm run image): built FROM scratch here, run exactly as the
 * tutorials run registry:2 (`-p 127.0.0.1::5000`, a volume on /var/lib/registry, --restart=always),
 * pushed to and pulled from with docker, restarted with its data kept; it runs as a non-root user.
 * It runs in a dockerd of its own with a bridge network (tests/helpers/dockerd.ts): the machine's
 * daemon may have none (tests/machine.sh starts it with --bridge=none), and -p is what is tested.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { buildTestImage, exec, pullImage, pushImage, removeImage, runImage, tagImage } from "../helpers/docker.ts";
import { type PrivateDockerd, startDockerd } from "../helpers/dockerd.ts";
import { berthCommand, repoRoot } from "../helpers/server.ts";

const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const imageTag = `berth-e2e/berth:${id}`;
const volume = `berth-e2e-data-${id}`;
const container = `berth-e2e-${id}`;
let daemon: PrivateDockerd | undefined;

afterAll(async () => {
  // its images and volume go with its data root; the container is stopped before the daemon is
  await daemon?.docker(["rm", "--force", container], { allowFailure: true, timeoutMs: 60_000 });
  await daemon?.docker(["volume", "rm", "--force", volume], { allowFailure: true });
  await daemon?.stop();
});

/** The host port docker published for the container's 5000 (it may change on restart). */
async function publishedPort(on: PrivateDockerd): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const inspect = await on.docker(["inspect", "--format", '{{with index .NetworkSettings.Ports "5000/tcp"}}{{(index . 0).HostPort}}{{end}}', container], { allowFailure: true });
    const port = Number(inspect.stdout.trim());
    if (port > 0) return port;
    await Bun.sleep(100);
  }
  throw new Error("docker published no port for 5000/tcp");
}

async function healthy(on: PrivateDockerd, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
    if (answer?.status === 200) return;
    await Bun.sleep(100);
  }
  const logs = await on.docker(["logs", container], { allowFailure: true });
  throw new Error(`the container never answered /healthz:\n${logs.stdout}${logs.stderr}`);
}

test("npm run image builds an image that serves through -p, keeps its data across a restart and runs as non-root", async () => {
  const on = await startDockerd({ bridge: true });
  daemon = on;
  const built = await exec(["bash", join(repoRoot, "scripts/image.sh"), imageTag], { env: { ...on.env, BERTH_BIN: berthCommand()[0] as string }, timeoutMs: 180_000 });
  const size = /built \S+: (\d+) MiB/.exec(built.stdout)?.[1];
  expect(Number(size)).toBeGreaterThan(10);
  console.log(`image size: ${size} MiB`);
  const inspect = await on.docker(["image", "inspect", "--format", "{{.Config.User}} {{json .Config.Volumes}} {{len .RootFS.Layers}}", imageTag]);
  expect(inspect.stdout.trim()).toBe('10001:10001 {"/var/lib/registry":{}} 2');

  await on.docker(["run", "-d", "--name", container, "-p", "127.0.0.1::5000", "--restart=always", "-v", `${volume}:/var/lib/registry`, imageTag]);
  let port = await publishedPort(on);
  await healthy(on, port);
  const top = await on.docker(["top", container, "-o", "user,pid"]);
  expect(top.stdout.trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/)[0])).toEqual(["10001"]);

  const testImage = await buildTestImage({ name: "container-e2e", daemon: on.env });
  const ref = `127.0.0.1:${port}/e2e/app:v1`;
  await tagImage(testImage.tag, ref, on.env);
  const digest = await pushImage(ref, on.env);
  await removeImage(testImage.id, on.env);
  expect(await pullImage(ref, on.env)).toBe(digest);
  expect((await runImage(ref, on.env)).trim()).toBe(testImage.text);

  await on.docker(["restart", container], { timeoutMs: 60_000 });
  port = await publishedPort(on);
  await healthy(on, port);
  const again = `127.0.0.1:${port}/e2e/app:v1`;
  await removeImage(testImage.id, on.env);
  expect(await pullImage(again, on.env)).toBe(digest);
}, 300_000);
