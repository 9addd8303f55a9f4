/**
 * The bare reference server (bench/bare/server.ts) must answer a manifest GET by tag with the
 * bytes and the response headers Berth sends, or the "÷ bare" rows compare different work.
 * Runs the server from source with this Bun (the harness compiles it); Berth is the binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { OCI_MANIFEST, RegistryClient, oneLayerImage, pushImage } from "../../bench/oci.ts";
import { writeRandomFile } from "../../bench/data.ts";
import { freePort } from "../../bench/servers.ts";
import type { BerthProcess } from "../helpers/server.ts";
import { removeDir, repoRoot, startBerth, tempDir } from "../helpers/server.ts";

const work = tempDir("berth-bare-test-");
let berth: BerthProcess;
let bare: ReturnType<typeof Bun.spawn> | undefined;
let bareUrl = "";

beforeAll(async () => {
  berth = await startBerth();
  const port = await freePort();
  bareUrl = `http://127.0.0.1:${port}`;
  bare = Bun.spawn([process.execPath, join(repoRoot, "bench/bare/server.ts")], {
    env: { ...process.env, BERTH_HTTP_ADDR: `127.0.0.1:${port}` },
    stdout: "ignore",
    stderr: "ignore",
  });
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${bareUrl}/v2/`).then((r) => r.status).catch(() => 0)) === 200) return;
    await Bun.sleep(25);
  }
  throw new Error("the bare server did not answer /v2/ within 5 s");
});

afterAll(async () => {
  bare?.kill();
  await berth?.stop();
  removeDir(work);
});

/** Header names and values, without those that differ per response (Date, X-Request-Id). */
function stable(res: Response): Array<[string, string]> {
  return [...res.headers].filter(([name]) => name !== "date" && name !== "x-request-id").toSorted(([a], [b]) => a.localeCompare(b));
}

describe("bare reference server", () => {
  test("answers GET and HEAD of a manifest by tag and GET /v2/ with Berth's bytes and headers", async () => {
    const layer = writeRandomFile(join(work, "layer.bin"), 1024);
    await pushImage(new RegistryClient(berth.url), "bench/manifest", "latest", layer, "monolithic", 0);
    await new RegistryClient(bareUrl).putManifest("bench/manifest", "latest", oneLayerImage("bench/manifest", "latest", layer).manifest);
    for (const method of ["GET", "HEAD"]) {
      const init = { method, headers: { accept: OCI_MANIFEST } };
      const [fromBerth, fromBare] = await Promise.all([
        fetch(`${berth.url}/v2/bench/manifest/manifests/latest`, init),
        fetch(`${bareUrl}/v2/bench/manifest/manifests/latest`, init),
      ]);
      expect(fromBare.status).toBe(200);
      expect(stable(fromBare)).toEqual(stable(fromBerth));
      expect(fromBare.headers.get("x-request-id")).toBeTruthy();
      expect(await fromBare.text()).toBe(await fromBerth.text());
    }
    const [v2Berth, v2Bare] = await Promise.all([fetch(`${berth.url}/v2/`), fetch(`${bareUrl}/v2/`)]);
    expect(stable(v2Bare)).toEqual(stable(v2Berth));
    expect(await v2Bare.text()).toBe(await v2Berth.text());
    expect((await fetch(`${bareUrl}/v2/bench/other/manifests/latest`)).status).toBe(404);
  });
});
