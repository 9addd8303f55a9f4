/**
 * skopeo copies a two-platform OCI image index (made by hand, no network) into Berth and back out;
 * every digest and every manifest byte must survive the round trip.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startOnRoot } from "../helpers/distribution.ts";
import { RunningServers } from "../helpers/process.ts";
import { removeDir, startBerth, tempDir, withServerLog, type BerthProcess } from "../helpers/server.ts";

import { OCI_INDEX, OCI_MANIFEST, writeMultiArchLayout, expectCopiesBackIdentical, expectRawManifestsIdentical, pushLayout, type Layout } from "../helpers/skopeo.ts";

describe("skopeo against Berth", () => {
  let berth: BerthProcess | undefined;
  let work = "";
  let layout: Layout | undefined;
  /** a test whose failure message carries the tail of Berth's output */
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body));

  beforeAll(async () => {
    work = tempDir("berth-skopeo-");
    layout = writeMultiArchLayout(join(work, "source"), `multi-arch ${Date.now()}`);
    berth = await startBerth({ root: mkdirp(join(work, "berth-root")) });
  });

  afterAll(async () => {
    if (berth) await berth.stop();
    if (work) removeDir(work);
  });

  function setup(): { berth: BerthProcess; layout: Layout } {
    if (!berth || !layout) throw new Error("beforeAll did not finish");
    return { berth, layout };
  }

  logged("skopeo copy --all of a two-platform OCI index to Berth and back keeps every digest", async () => {
    const { berth, layout } = setup();
    await pushLayout(berth.host, "multi/arch", layout);
    await expectCopiesBackIdentical(berth.host, "multi/arch", layout, join(work, "back"));
  });

  logged("skopeo inspect --raw returns the original index bytes, and each platform manifest by digest", async () => {
    const { berth, layout } = setup();
    await expectRawManifestsIdentical(berth.host, "multi/arch", layout);
  });

  logged("GET of the index by tag answers the OCI index media type, its digest and its exact bytes", async () => {
    const { berth, layout } = setup();
    const res = await fetch(`${berth.url}/v2/multi/arch/manifests/v1`, {
      headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(OCI_INDEX);
    expect(res.headers.get("docker-content-digest")).toBe(layout.index.digest);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(layout.index.bytes);
  });
});

describe("a two-platform OCI index crosses between Berth and Distribution 2.8.2 storage", () => {
  let work = "";
  let layout: Layout | undefined;
  const servers = new RunningServers();

  beforeAll(() => {
    work = tempDir("berth-skopeo-compat-");
    layout = writeMultiArchLayout(join(work, "source"), `multi-arch compat ${Date.now()}`);
  });

  afterAll(async () => {
    await servers.stopAll();
    if (work) removeDir(work);
  });

  function source(): Layout {
    if (!layout) throw new Error("beforeAll did not finish");
    return layout;
  }

  test.each([
    ["Berth", "docker-registry"],
    ["docker-registry", "Berth"],
  ] as const)("an index skopeo pushed to %s is served byte for byte by %s on the same storage root", (writer, reader) =>
    withServerLog(() => servers.list(), async () => {
      const root = mkdirp(join(work, `${writer}-root`));
      const first = await servers.started(startOnRoot[writer](root));
      await pushLayout(first.host, "compat/index", source());
      await servers.stopped(first);

      const second = await servers.started(startOnRoot[reader](root));
      await expectRawManifestsIdentical(second.host, "compat/index", source());
      await expectCopiesBackIdentical(second.host, "compat/index", source(), join(work, `back-${reader}`));
      await servers.stopped(second);
    })(),
  );
});

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
