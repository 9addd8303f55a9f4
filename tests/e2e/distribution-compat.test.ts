/**
 * Berth and CNCF Distribution 2.8.2 (Debian's docker-registry) share one on-disk layout: each can
 * serve the other's storage root. Images go in through one server and come out through the other.
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
import { startDistribution, type DistributionProcess } from "../helpers/distribution.ts";
import { removeDir, startBerth, tempDir, withServerLog, type BerthProcess } from "../helpers/server.ts";

interface Server {
  url: string;
  host: string;
  output(): string;
  stop(): Promise<void>;
}

describe("Berth and Distribution 2.8.2 read each other's storage", () => {
  const images: TestImage[] = [];
  const roots: string[] = [];
  const running = new Set<Server>();
  /** a test whose failure message carries the tail of the running servers' output */
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [...running], body));

  beforeAll(async () => {
    await ensureDocker();
  });

  afterAll(async () => {
    for (const server of running) await server.stop();
    for (const image of images) await removeImage(image.id);
    for (const root of roots) removeDir(root);
  });

  async function started<T extends Server>(server: Promise<T>): Promise<T> {
    const s = await server;
    running.add(s);
    return s;
  }

  async function stopped(server: Server): Promise<void> {
    await server.stop();
    running.delete(server);
  }

  async function tagsOf(server: Server, name: string): Promise<string[]> {
    const res = await fetch(`${server.url}/v2/${name}/tags/list`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { tags: string[] }).tags;
  }

  logged("an image pushed to Berth is pulled and run from docker-registry serving Berth's root", async () => {
    const root = tempDir("berth-compat-a-");
    roots.push(root);
    const image = await buildTestImage({ name: "compat-a" });
    images.push(image);

    const berth: BerthProcess = await started(startBerth({ root }));
    const berthRef = `${berth.host}/compat/from-berth:v1`;
    await tagImage(image.id, berthRef);
    const pushed = await pushImage(berthRef);
    await stopped(berth);

    const distribution: DistributionProcess = await started(startDistribution({ root }));
    expect(await tagsOf(distribution, "compat/from-berth")).toEqual(["v1"]);
    await removeImage(image.id);
    expect(await imageExists(image.id)).toBe(false);
    const distributionRef = `${distribution.host}/compat/from-berth:v1`;
    const pulled = await pullImage(distributionRef);
    expect(pulled).toBe(pushed);
    expect((await runImage(distributionRef)).trim()).toBe(image.text);
    await stopped(distribution);
  });

  logged("an image pushed to docker-registry is pulled and run from Berth serving its rootdirectory", async () => {
    const root = tempDir("berth-compat-b-");
    roots.push(root);
    const image = await buildTestImage({ name: "compat-b" });
    images.push(image);

    const distribution = await started(startDistribution({ root }));
    const distributionRef = `${distribution.host}/compat/from-distribution:v1`;
    await tagImage(image.id, distributionRef);
    const pushed = await pushImage(distributionRef);
    await stopped(distribution);

    const berth = await started(startBerth({ root }));
    expect(await tagsOf(berth, "compat/from-distribution")).toEqual(["v1"]);
    await removeImage(image.id);
    expect(await imageExists(image.id)).toBe(false);
    const berthRef = `${berth.host}/compat/from-distribution:v1`;
    const pulled = await pullImage(berthRef);
    expect(pulled).toBe(pushed);
    expect((await runImage(berthRef)).trim()).toBe(image.text);
    await stopped(berth);
  });
});
