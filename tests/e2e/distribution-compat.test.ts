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
import { startOnRoot } from "../helpers/distribution.ts";
import { RunningServers, type ServerProcess } from "../helpers/process.ts";
import { removeDir, tempDir, withServerLog } from "../helpers/server.ts";

describe("Berth and Distribution 2.8.2 read each other's storage", () => {
  const images: TestImage[] = [];
  const roots: string[] = [];
  const servers = new RunningServers();

  beforeAll(async () => {
    await ensureDocker();
  });

  afterAll(async () => {
    await servers.stopAll();
    for (const image of images) await removeImage(image.id);
    for (const root of roots) removeDir(root);
  });

  async function tagsOf(server: ServerProcess, name: string): Promise<string[]> {
    const res = await fetch(`${server.url}/v2/${name}/tags/list`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { tags: string[] }).tags;
  }

  test.each([
    ["Berth", "docker-registry"],
    ["docker-registry", "Berth"],
  ] as const)("an image pushed to %s is pulled and run from %s serving the same storage root", (writer, reader) =>
    withServerLog(() => servers.list(), async () => {
      const root = tempDir("berth-compat-");
      roots.push(root);
      const from = writer.toLowerCase();
      const image = await buildTestImage({ name: `compat-${from}` });
      images.push(image);
      const repository = `compat/from-${from}`;

      const first = await servers.started(startOnRoot[writer](root));
      const pushedRef = `${first.host}/${repository}:v1`;
      await tagImage(image.id, pushedRef);
      const pushed = await pushImage(pushedRef);
      await servers.stopped(first);

      const second = await servers.started(startOnRoot[reader](root));
      expect(await tagsOf(second, repository)).toEqual(["v1"]);
      await removeImage(image.id);
      expect(await imageExists(image.id)).toBe(false);
      const pulledRef = `${second.host}/${repository}:v1`;
      const pulled = await pullImage(pulledRef);
      expect(pulled).toBe(pushed);
      expect((await runImage(pulledRef)).trim()).toBe(image.text);
      await servers.stopped(second);
    })(),
  );
});
