/**
 * Configuration that changes API behaviour: deletes disabled, public URL in Location/Link headers,
 * manifest size limit; the on-disk layout shared with Distribution.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type DistributionProcess, startDistribution } from "../helpers/distribution.ts";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { removeDir, startBerth, tempDir, type BerthProcess } from "../helpers/server.ts";
import {
  bytesEqual,
  call,
  expectAlive,
  expectError,
  expectStatus,
  getManifest,
  hexOf,
  imageManifestJson,
  localUrl,
  MT,
  nextLink,
  padManifest,
  patchChunk,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  sha256,
  show,
  tagsOf,
  utf8,
  withQuery,
  type PushedImage,
} from "../helpers/oci.ts";

describe("BERTH_STORAGE_DELETE=false", () => {
  let berth: InProcessBerth;
  let img: PushedImage;
  const REPO = "cfg/nodelete";

  beforeAll(async () => {
    berth = await startInProcess({ env: { BERTH_STORAGE_DELETE: "false" } });
    img = await pushImage(berth.url, REPO, { tag: "v1" });
    expectStatus(await putManifest(berth.url, REPO, "v2", img.bytes, MT.ociManifest), 201);
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  test("DELETE manifest by digest answers 405 UNSUPPORTED and the manifest stays", async () => {
    expectError(await call(berth.url, `/v2/${REPO}/manifests/${img.digest}`, { method: "DELETE" }), 405, "UNSUPPORTED");
    expectStatus(await getManifest(berth.url, REPO, img.digest), 200);
  });

  test("DELETE by tag answers 405 UNSUPPORTED and the tag stays", async () => {
    expectError(await call(berth.url, `/v2/${REPO}/manifests/v1`, { method: "DELETE" }), 405, "UNSUPPORTED");
    expect(await tagsOf(berth.url, REPO)).toEqual(["v1", "v2"]);
  });

  test("DELETE blob answers 405 UNSUPPORTED and the blob stays", async () => {
    const layer = img.layers[0];
    if (layer === undefined) throw new Error("image without layers");
    expectError(await call(berth.url, `/v2/${REPO}/blobs/${layer.digest}`, { method: "DELETE" }), 405, "UNSUPPORTED");
    const res = await call(berth.url, `/v2/${REPO}/blobs/${layer.digest}`);
    expectStatus(res, 200);
    expect(bytesEqual(res.body, layer.bytes)).toBe(true);
  });

  test("all data is intact after the refused deletes", async () => {
    await expectAlive(berth);
    for (const ref of ["v1", "v2", img.digest]) {
      const res = await getManifest(berth.url, REPO, ref);
      expectStatus(res, 200);
      expect(res.text).toBe(new TextDecoder().decode(img.bytes));
    }
    const cfg = await call(berth.url, `/v2/${REPO}/blobs/${img.config.digest}`);
    expect(bytesEqual(cfg.body, img.config.bytes)).toBe(true);
  });
});

describe("BERTH_HTTP_PUBLIC_URL", () => {
  const PUBLIC = "https://registry.example.com";
  let berth: InProcessBerth;

  beforeAll(async () => {
    berth = await startInProcess({ env: { BERTH_HTTP_PUBLIC_URL: PUBLIC } });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  test("upload Locations (POST, PATCH, GET status, PUT) start with the public URL", async () => {
    const repo = "cfg/public";
    const post = await call(berth.url, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    expectStatus(post, 202);
    expect(post.headers.get("location") ?? "", show(post)).toStartWith(`${PUBLIC}/v2/${repo}/blobs/uploads/`);
    const bytes = randomBytes(100);
    const patch = await patchChunk(localUrl(berth.url, post.headers.get("location"), PUBLIC), bytes, "0-99");
    expectStatus(patch, 202);
    expect(patch.headers.get("location") ?? "", show(patch)).toStartWith(`${PUBLIC}/v2/${repo}/blobs/uploads/`);
    const status = await call(berth.url, localUrl(berth.url, patch.headers.get("location"), PUBLIC).toString());
    expectStatus(status, 204);
    expect(status.headers.get("location") ?? "", show(status)).toStartWith(`${PUBLIC}/v2/${repo}/blobs/uploads/`);
    const put = await call(berth.url, withQuery(localUrl(berth.url, patch.headers.get("location"), PUBLIC), { digest: sha256(bytes) }).toString(), {
      method: "PUT",
    });
    expectStatus(put, 201);
    expect(put.headers.get("location"), show(put)).toBe(`${PUBLIC}/v2/${repo}/blobs/${sha256(bytes)}`);
  });

  test("the 416 for an out-of-order chunk says where the upload stands, under the public URL", async () => {
    const repo = "cfg/public-416";
    const post = await call(berth.url, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    expectStatus(post, 202);
    const upload = localUrl(berth.url, post.headers.get("location"), PUBLIC);
    expectStatus(await patchChunk(upload, randomBytes(10), "0-9"), 202);
    const outOfOrder = await patchChunk(upload, randomBytes(10), "20-29");
    expectStatus(outOfOrder, 416);
    expect(outOfOrder.headers.get("location"), show(outOfOrder)).toBe(`${PUBLIC}${upload.pathname}`);
    expect(outOfOrder.headers.get("range"), show(outOfOrder)).toBe("0-9");
    expect(outOfOrder.headers.get("docker-upload-uuid"), show(outOfOrder)).toBe(upload.pathname.split("/").pop() ?? "");
  });

  test("monolithic upload, mount and manifest Locations start with the public URL", async () => {
    const repo = "cfg/public2";
    const bytes = randomBytes(50);
    const mono = await call(berth.url, `/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, { method: "POST", body: bytes });
    expectStatus(mono, 201);
    expect(mono.headers.get("location"), show(mono)).toBe(`${PUBLIC}/v2/${repo}/blobs/${sha256(bytes)}`);
    const mount = await call(berth.url, `/v2/cfg/public3/blobs/uploads/?mount=${sha256(bytes)}&from=${repo}`, { method: "POST" });
    expectStatus(mount, 201);
    expect(mount.headers.get("location"), show(mount)).toBe(`${PUBLIC}/v2/cfg/public3/blobs/${sha256(bytes)}`);
    const img = await pushImage(berth.url, repo, { tag: "v1" });
    expect(img.res.headers.get("location") ?? "", show(img.res)).toStartWith(`${PUBLIC}/v2/${repo}/manifests/`);
  });

  test("tags/list and _catalog Link headers start with the public URL", async () => {
    const repo = "cfg/public-tags";
    const img = await pushImage(berth.url, repo, { tag: "a" });
    expectStatus(await putManifest(berth.url, repo, "b", img.bytes, MT.ociManifest), 201);
    const tags = await call(berth.url, `/v2/${repo}/tags/list?n=1`);
    expectStatus(tags, 200);
    expect(nextLink(tags) ?? "", show(tags)).toStartWith(`${PUBLIC}/v2/${repo}/tags/list?`);
    const next = await call(berth.url, localUrl(berth.url, nextLink(tags), PUBLIC).toString());
    expectStatus(next, 200);
    expect((JSON.parse(next.text) as { tags: string[] }).tags).toEqual(["b"]);
    const cat = await call(berth.url, "/v2/_catalog?n=1");
    expectStatus(cat, 200);
    expect(nextLink(cat) ?? "", show(cat)).toStartWith(`${PUBLIC}/v2/_catalog?`);
  });
});

describe("BERTH_LIMITS_MAX_MANIFEST_BYTES", () => {
  let berth: InProcessBerth;

  beforeAll(async () => {
    berth = await startInProcess({ env: { BERTH_LIMITS_MAX_MANIFEST_BYTES: "1024" } });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  test("a manifest one byte over the configured limit answers 413 SIZE_INVALID; one at the limit is accepted", async () => {
    const repo = "cfg/limit";
    const config = await pushBlob(berth.url, repo, utf8('{"os":"linux"}'));
    const doc = imageManifestJson({ config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size }, layers: [] });
    const over = padManifest(doc, 1025);
    expectError(await putManifest(berth.url, repo, "over", over, MT.ociManifest), 413, "SIZE_INVALID");
    expectStatus(await getManifest(berth.url, repo, sha256(over)), 404);
    expect((await tagsOf(berth.url, repo)) ?? []).toEqual([]);
    const at = padManifest(doc, 1024);
    expectStatus(await putManifest(berth.url, repo, "at", at, MT.ociManifest), 201);
    await expectAlive(berth);
  });
});

describe("storage layout", () => {
  test("data is stored in Distribution's layout under <root>/docker/registry/v2", async () => {
    const berth = await startBerth();
    try {
      const repo = "cfg/layout";
      const img = await pushImage(berth.url, repo, { tag: "v1" });
      const v2 = join(berth.root, "docker/registry/v2");
      const blobData = (digest: string): string => {
        const [alg, hex] = digest.split(":") as [string, string];
        return join(v2, "blobs", alg, hex.slice(0, 2), hex, "data");
      };
      const layer = img.layers[0];
      if (layer === undefined) throw new Error("no layer");
      for (const [digest, bytes] of [
        [img.config.digest, img.config.bytes],
        [layer.digest, layer.bytes],
        [img.digest, img.bytes],
      ] as const) {
        expect(existsSync(blobData(digest)), blobData(digest)).toBe(true);
        expect(bytesEqual(new Uint8Array(readFileSync(blobData(digest))), bytes), `${digest} data`).toBe(true);
      }
      const repoDir = join(v2, "repositories", repo);
      const link = (p: string): string => readFileSync(join(repoDir, p), "utf8");
      expect(link(`_layers/sha256/${hexOf(img.config.digest)}/link`)).toBe(img.config.digest);
      expect(link(`_layers/sha256/${hexOf(layer.digest)}/link`)).toBe(layer.digest);
      expect(link(`_manifests/revisions/sha256/${hexOf(img.digest)}/link`)).toBe(img.digest);
      expect(link("_manifests/tags/v1/current/link")).toBe(img.digest);
      expect(link(`_manifests/tags/v1/index/sha256/${hexOf(img.digest)}/link`)).toBe(img.digest);
    } finally {
      await berth.stop();
    }
  });

  test("Distribution 2.8 serves what Berth stored, and Berth serves what Distribution stored", async () => {
    const parent = tempDir("berth-interop-");
    const root = join(parent, "root");
    mkdirSync(root);
    let berth: BerthProcess | undefined;
    let dist: DistributionProcess | undefined;
    try {
      berth = await startBerth({ root });
      const fromBerth = await pushImage(berth.url, "interop/berth", { tag: "v1" });
      const dockerFromBerth = await pushImage(berth.url, "interop/berth", { tag: "docker", docker: true });
      await berth.stop();
      berth = undefined;

      dist = await startDistribution({ root });
      for (const [ref, img] of [
        ["v1", fromBerth],
        ["docker", dockerFromBerth],
      ] as const) {
        const res = await getManifest(dist.url, "interop/berth", ref);
        expectStatus(res, 200);
        expect(res.text, `Distribution reading ${ref}`).toBe(new TextDecoder().decode(img.bytes));
      }
      const blob = await call(dist.url, `/v2/interop/berth/blobs/${fromBerth.config.digest}`);
      expectStatus(blob, 200);
      expect(bytesEqual(blob.body, fromBerth.config.bytes)).toBe(true);
      const fromDist = await pushImage(dist.url, "interop/dist", { tag: "v1", docker: true });
      await dist.stop();
      dist = undefined;

      berth = await startBerth({ root });
      const res = await getManifest(berth.url, "interop/dist", "v1");
      expectStatus(res, 200);
      expect(res.text).toBe(new TextDecoder().decode(fromDist.bytes));
      expect(res.headers.get("content-type"), show(res)).toBe(MT.dockerManifest);
      const layer = fromDist.layers[0];
      if (layer === undefined) throw new Error("no layer");
      const b = await call(berth.url, `/v2/interop/dist/blobs/${layer.digest}`);
      expect(bytesEqual(b.body, layer.bytes)).toBe(true);
      expect(await tagsOf(berth.url, "interop/dist")).toEqual(["v1"]);
    } finally {
      await berth?.stop();
      await dist?.stop();
      removeDir(parent);
    }
  });
});
