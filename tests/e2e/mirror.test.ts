/**
 * Berth as the tutorials' registry mirror: a second dockerd of the test's own
 * (tests/helpers/dockerd.ts) started with --registry-mirror pulls `library/<name>` through
 * Berth's `prefix = ""` rule and runs it; the main dockerd pulls through a prefix; skopeo
 * copies an index with --all. The images come from a Distribution 2.8.2 upstream with htpasswd
 * auth.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildTestImage, docker, ensureDocker, exec, type TestImage } from "../helpers/docker.ts";
import { type PrivateDockerd, startDockerd } from "../helpers/dockerd.ts";
import { type BerthProcess, removeDir, startBerth, tempDir } from "../helpers/server.ts";
import { copyFromDocker, pushTwoPlatformIndex, startUpstream, type Upstream } from "../helpers/upstream.ts";

let upstream: Upstream;
let berth: BerthProcess;
let dir: string;
let image: TestImage;
const name = `mirrortest${Date.now().toString(36)}`;
let secondDocker: PrivateDockerd | undefined;

beforeAll(async () => {
  await ensureDocker();
  upstream = await startUpstream({ user: "mirror", password: "mirror-pw" });
  image = await buildTestImage({ name });
  await copyFromDocker(image.tag, `${upstream.host}/library/${name}:latest`, upstream.creds);
  dir = tempDir("berth-mirror-e2e-");
  const config = join(dir, "registry.toml");
  writeFileSync(
    config,
    ["[[proxy]]", 'prefix = ""', `url = "${upstream.url}"`, 'username = "mirror"', 'password = "mirror-pw"', "", "[[proxy]]", 'prefix = "hub"', `url = "${upstream.url}"`, 'username = "mirror"', 'password = "mirror-pw"', ""].join("\n"),
  );
  berth = await startBerth({ args: ["serve", "--config", config] });
}, 180_000);

afterAll(async () => {
  await secondDocker?.stop();
  await docker(["rmi", "-f", image?.tag ?? "none", `${berth?.host}/hub/library/${name}:latest`], { allowFailure: true });
  await berth?.stop();
  await upstream?.stop();
  if (dir) removeDir(dir);
});

test("docker pull through a prefix, then run", async () => {
  const ref = `${berth.host}/hub/library/${name}:latest`;
  await docker(["pull", ref], { timeoutMs: 120_000 });
  const run = await docker(["run", "--rm", "--network", "none", ref], { timeoutMs: 60_000 });
  expect(run.stdout.trim()).toBe(image.text);
}, 180_000);

test("a second dockerd with --registry-mirror pulls library/<name> through Berth and runs it", async () => {
  secondDocker = await startDockerd({ args: [`--registry-mirror=http://${berth.host}`, "--insecure-registry", berth.host] });
  await secondDocker.docker(["pull", name], { timeoutMs: 120_000 });
  const run = await secondDocker.docker(["run", "--rm", "--network", "none", name], { timeoutMs: 60_000 });
  expect(run.stdout.trim()).toBe(image.text);
  // the pull came through Berth: its "" rule filled library/<name> from the upstream
  const status = (await (await fetch(`${berth.url}/api/v1/proxy`)).json()) as { repositories: { name: string; upstream: string }[] };
  expect(status.repositories).toContainEqual({ name: `library/${name}`, upstream: upstream.url });
}, 240_000);

test("skopeo copy --all of a two-platform index through the mirror keeps every digest", async () => {
  const index = await pushTwoPlatformIndex(upstream.url, upstream.creds, "team/multi", "v1");
  const out = join(dir, "oci");
  await exec(["skopeo", "copy", "--all", "--src-tls-verify=false", `docker://${berth.host}/hub/team/multi:v1`, `oci:${out}:v1`], { timeoutMs: 120_000 });
  const inspect = await exec(["skopeo", "inspect", "--raw", `oci:${out}:v1`]);
  expect(`sha256:${new Bun.CryptoHasher("sha256").update(inspect.stdout).digest("hex")}`).toBe(index.digest);
  // skopeo asked for every child, so each is now cached (stored in the background)
  for (const child of index.children) {
    const link = join(berth.root, "docker/registry/v2/repositories/hub/team/multi/_manifests/revisions/sha256", child.digest.slice(7), "link");
    for (let i = 0; i < 100 && !existsSync(link); i++) await Bun.sleep(100);
    expect(existsSync(link)).toBe(true);
  }
}, 180_000);
