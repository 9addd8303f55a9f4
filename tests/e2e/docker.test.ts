/**
 * The real Docker client against a real Berth process: push, remove locally, pull, run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  buildTestImage,
  ensureDocker,
  imageExists,
  pullImage,
  pushImage,
  removeImage,
  runImage,
  tagImage,
  type TestImage,
} from "../helpers/docker.ts";
import { removeDir, startBerth, tempDir, withServerLog, type BerthProcess } from "../helpers/server.ts";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

describe("docker CLI against Berth", () => {
  let berth: BerthProcess | undefined;
  let root = "";
  let image: TestImage | undefined;
  let pushedDigest = "";

  const logs = () => [berth];
  /** a test whose failure message carries the tail of Berth's output */
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(logs, body));

  beforeAll(
    withServerLog(logs, async () => {
      await ensureDocker();
      root = tempDir("berth-docker-e2e-");
      berth = await startBerth({ root });
      image = await buildTestImage({ name: "docker-e2e" });
    }),
  );

  afterAll(async () => {
    if (image) await removeImage(image.id);
    if (berth) await berth.stop();
    if (root) removeDir(root);
  });

  function setup(): { berth: BerthProcess; image: TestImage } {
    if (!berth || !image) throw new Error("beforeAll did not finish");
    return { berth, image };
  }

  /** Pushes `ref`, removes the image locally, pulls it back and runs it. */
  async function roundTrip(ref: string): Promise<{ pushed: string; pulled: string; output: string }> {
    const { image } = setup();
    if (!(await imageExists(image.id))) throw new Error(`image ${image.id} vanished before ${ref}`);
    await tagImage(image.id, ref);
    const pushed = await pushImage(ref);
    await removeImage(image.id);
    expect(await imageExists(ref)).toBe(false);
    const pulled = await pullImage(ref);
    const output = await runImage(ref);
    return { pushed, pulled, output };
  }

  logged("docker push then pull of a 3-layer scratch image runs and prints its version", async () => {
    const { berth, image } = setup();
    expect(image.layers).toBe(3);
    const ref = `${berth.host}/e2e/busybox:v1`;
    const { pushed, pulled, output } = await roundTrip(ref);
    pushedDigest = pushed;
    expect(pulled).toBe(pushed);
    expect(output.trim()).toBe(image.text);

    // The registry serves what docker pushed: same digest, the image's config, three layers.
    const res = await fetch(`${berth.url}/v2/e2e/busybox/manifests/v1`, {
      headers: { Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` },
    });
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("docker-content-digest")).toBe(pushed);
    expect(`sha256:${new Bun.CryptoHasher("sha256").update(body).digest("hex")}`).toBe(pushed);
    const manifest = JSON.parse(new TextDecoder().decode(body)) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    expect(manifest.config.digest).toBe(image.id);
    expect(manifest.layers).toHaveLength(3);
  });

  logged("a second tag of the same image pushes, lists next to the first and pulls with the same digest", async () => {
    const { berth, image } = setup();
    const ref = `${berth.host}/e2e/busybox:v2`;
    const { pushed, pulled, output } = await roundTrip(ref);
    expect(pushed).toBe(pushedDigest);
    expect(pulled).toBe(pushedDigest);
    expect(output.trim()).toBe(image.text);

    const tags = await fetch(`${berth.url}/v2/e2e/busybox/tags/list`);
    expect(tags.status).toBe(200);
    const list = (await tags.json()) as { name: string; tags: string[] };
    expect(list.name).toBe("e2e/busybox");
    expect([...list.tags].sort()).toEqual(["v1", "v2"]);
  });

  logged("an image pushed under the multi-component name a/b/c pulls and runs", async () => {
    const { berth, image } = setup();
    // Same layers as e2e/busybox: docker offers Berth a cross-repository mount for each of them.
    const ref = `${berth.host}/a/b/c:latest`;
    const { pushed, pulled, output } = await roundTrip(ref);
    expect(pushed).toBe(pushedDigest);
    expect(pulled).toBe(pushedDigest);
    expect(output.trim()).toBe(image.text);

    const tags = await fetch(`${berth.url}/v2/a/b/c/tags/list`);
    expect(tags.status).toBe(200);
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual(["latest"]);
  });
});
