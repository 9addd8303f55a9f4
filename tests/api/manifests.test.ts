/**
 * Manifests: PUT/GET/HEAD/DELETE /v2/<name>/manifests/<reference> (end-3, end-7, end-9), all
 * supported manifest types, subject handling (OCI-Subject), validation errors and limits.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { testWithServerLog } from "../helpers/server.ts";
import {
  absentDigest,
  call,
  EMPTY_CONFIG_BYTES,
  EMPTY_DESCRIPTOR,
  expectAlive,
  expectError,
  expectStatus,
  getManifest,
  imageManifestJson,
  indexJson,
  MT,
  padManifest,
  pushArtifact,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  serialize,
  sha256,
  sha512,
  show,
  tagsOf,
  utf8,
  type Bytes,
  type Descriptor,
  type PushedImage,
  type Resp,
} from "../helpers/oci.ts";

let berth: InProcessBerth;

const test = testWithServerLog(() => [berth]);
let base: string;
let kept: PushedImage;

beforeAll(async () => {
  berth = await startInProcess();
  base = berth.url;
  kept = await pushImage(base, "manifests/kept", { tag: "stable" });
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

function expectPutCreated(res: Resp, repo: string, digest: string): void {
  expectStatus(res, 201);
  expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
  const location = res.headers.get("location");
  expect(location, show(res)).not.toBeNull();
  expect(new URL(location ?? "", base).pathname, show(res)).toStartWith(`/v2/${repo}/manifests/`);
}

async function expectManifest(repo: string, reference: string, bytes: Bytes, mediaType: string): Promise<void> {
  const res = await getManifest(base, repo, reference);
  expectStatus(res, 200);
  expect(res.text, `GET ${repo}:${reference} must return the exact stored bytes`).toBe(new TextDecoder().decode(bytes));
  expect(res.headers.get("content-type"), show(res)).toBe(mediaType);
  expect(res.headers.get("docker-content-digest"), show(res)).toBe(sha256(bytes));
  expect(res.headers.get("content-length"), show(res)).toBe(String(bytes.byteLength));
  const head = await getManifest(base, repo, reference, "HEAD");
  expectStatus(head, 200);
  expect(head.body.byteLength).toBe(0);
  expect(head.headers.get("content-type"), show(head)).toBe(mediaType);
  expect(head.headers.get("docker-content-digest"), show(head)).toBe(sha256(bytes));
  expect(head.headers.get("content-length"), show(head)).toBe(String(bytes.byteLength));
}

async function expectNoManifest(repo: string, digest: string): Promise<void> {
  const res = await getManifest(base, repo, digest);
  expect(res.status, show(res)).toBe(404);
}

/** builds (without pushing) an OCI image manifest around blobs that exist in `repo` */
async function ociImageBytes(repo: string, extra: { annotations?: Record<string, string> } = {}): Promise<Bytes> {
  const config = await pushBlob(base, repo, utf8(JSON.stringify({ architecture: "arm64", os: "linux", n: Math.random() })));
  const layer = await pushBlob(base, repo, randomBytes(100));
  const init: Parameters<typeof imageManifestJson>[0] = {
    config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size }],
  };
  if (extra.annotations !== undefined) init.annotations = extra.annotations;
  return serialize(imageManifestJson(init));
}

describe("manifest push and pull", () => {
  test("PUT an OCI image manifest by tag answers 201 with Location and Docker-Content-Digest", async () => {
    const repo = "manifests/oci";
    const bytes = await ociImageBytes(repo);
    const res = await putManifest(base, repo, "v1", bytes, MT.ociManifest);
    expectPutCreated(res, repo, sha256(bytes));
    const loc = await call(base, new URL(res.headers.get("location") ?? "", base).pathname, { headers: { Accept: MT.ociManifest } });
    expectStatus(loc, 200);
    expect(loc.text, "the Location must be a pullable manifest URL").toBe(new TextDecoder().decode(bytes));
  });

  test("PUT a manifest by digest answers 201 with Location and Docker-Content-Digest", async () => {
    const repo = "manifests/by-digest";
    const bytes = await ociImageBytes(repo);
    const digest = sha256(bytes);
    const res = await putManifest(base, repo, digest, bytes, MT.ociManifest);
    expectPutCreated(res, repo, digest);
    await expectManifest(repo, digest, bytes, MT.ociManifest);
    expect(await tagsOf(base, repo)).toEqual([]);
  });

  test("GET/HEAD by tag and by digest return the exact bytes, Content-Type, Docker-Content-Digest, Content-Length", async () => {
    const repo = "manifests/exact";
    // unusual but valid formatting: key order, spacing and a trailing newline must survive
    const config = await pushBlob(base, repo, utf8('{"os":"linux","architecture":"amd64"}'));
    const text = `{\n    "layers" : [ ],\n  "config":{"size":${config.size},"digest":"${config.digest}","mediaType":"${MT.ociConfig}"},"schemaVersion":2,\n"mediaType":"${MT.ociManifest}"   }\n\n`;
    const bytes = utf8(text);
    expectPutCreated(await putManifest(base, repo, "fancy", bytes, MT.ociManifest), repo, sha256(bytes));
    await expectManifest(repo, "fancy", bytes, MT.ociManifest);
    await expectManifest(repo, sha256(bytes), bytes, MT.ociManifest);
  });

  test("GET without an Accept header returns the OCI image manifest as stored", async () => {
    const res = await call(base, `/v2/manifests/kept/manifests/stable`);
    expectStatus(res, 200);
    expect(res.text).toBe(new TextDecoder().decode(kept.bytes));
    expect(res.headers.get("content-type"), show(res)).toBe(MT.ociManifest);
  });

  test("Docker schema 2 manifest: PUT answers 201 and GET returns it with its media type", async () => {
    const img = await pushImage(base, "manifests/docker", { tag: "latest", docker: true });
    expectPutCreated(img.res, "manifests/docker", img.digest);
    await expectManifest("manifests/docker", "latest", img.bytes, MT.dockerManifest);
    await expectManifest("manifests/docker", img.digest, img.bytes, MT.dockerManifest);
  });

  test("Docker manifest list: PUT answers 201 and GET returns it with its media type", async () => {
    const repo = "manifests/docker-list";
    const amd = await pushImage(base, repo, { docker: true });
    const arm = await pushImage(base, repo, { docker: true });
    const bytes = serialize(
      indexJson({
        mediaType: MT.dockerList,
        manifests: [
          { ...amd.descriptor, platform: { architecture: "amd64", os: "linux" } },
          { ...arm.descriptor, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
        ],
      }),
    );
    const res = await putManifest(base, repo, "multi", bytes, MT.dockerList);
    expectPutCreated(res, repo, sha256(bytes));
    await expectManifest(repo, "multi", bytes, MT.dockerList);
    await expectManifest(repo, sha256(bytes), bytes, MT.dockerList);
  });

  test("OCI image index: PUT answers 201 and GET returns it with its media type", async () => {
    const repo = "manifests/oci-index";
    const a = await pushImage(base, repo);
    const b = await pushImage(base, repo);
    const bytes = serialize(
      indexJson({
        manifests: [
          { ...a.descriptor, platform: { architecture: "amd64", os: "linux" } },
          { ...b.descriptor, platform: { architecture: "arm64", os: "linux" } },
        ],
        annotations: { "org.opencontainers.image.ref.name": "multi" },
      }),
    );
    const res = await putManifest(base, repo, "multi", bytes, MT.ociIndex);
    expectPutCreated(res, repo, sha256(bytes));
    await expectManifest(repo, "multi", bytes, MT.ociIndex);
  });

  test("an index of indexes is accepted", async () => {
    const repo = "manifests/nested-index";
    const img = await pushImage(base, repo);
    const inner = serialize(indexJson({ manifests: [img.descriptor] }));
    expectStatus(await putManifest(base, repo, sha256(inner), inner, MT.ociIndex), 201);
    const outer = serialize(indexJson({ manifests: [{ mediaType: MT.ociIndex, digest: sha256(inner), size: inner.byteLength }] }));
    expectStatus(await putManifest(base, repo, "outer", outer, MT.ociIndex), 201);
    await expectManifest(repo, "outer", outer, MT.ociIndex);
  });

  test("artifact manifest (artifactType + subject): PUT answers 201 with OCI-Subject: <subject digest>", async () => {
    const repo = "manifests/artifact";
    const subject = await pushImage(base, repo, { tag: "app" });
    const art = await pushArtifact(base, repo, {
      subject: subject.descriptor,
      artifactType: "application/vnd.example.sbom.v1",
      annotations: { "org.example.kind": "sbom" },
    });
    expectPutCreated(art.res, repo, art.digest);
    expect(art.res.headers.get("oci-subject"), show(art.res)).toBe(subject.digest);
    await expectManifest(repo, art.digest, art.bytes, MT.ociManifest);
  });

  test("an artifact with an empty config and no layers is accepted", async () => {
    const repo = "manifests/artifact-nolayers";
    await pushBlob(base, repo, EMPTY_CONFIG_BYTES);
    const bytes = serialize(imageManifestJson({ artifactType: "application/vnd.example.thing", config: EMPTY_DESCRIPTOR, layers: [] }));
    expectPutCreated(await putManifest(base, repo, "thing", bytes, MT.ociManifest), repo, sha256(bytes));
    await expectManifest(repo, "thing", bytes, MT.ociManifest);
  });

  test("a manifest whose subject does not exist is accepted, with OCI-Subject", async () => {
    const repo = "manifests/dangling-subject";
    const subject: Descriptor = { mediaType: MT.ociManifest, digest: absentDigest(), size: 1234 };
    const art = await pushArtifact(base, repo, { subject, artifactType: "application/vnd.example.sig" });
    expect(art.res.headers.get("oci-subject"), show(art.res)).toBe(subject.digest);
  });

  test("an image index with a subject answers 201 with OCI-Subject", async () => {
    const repo = "manifests/index-subject";
    const subject = await pushImage(base, repo, { tag: "app" });
    const child = await pushImage(base, repo);
    const bytes = serialize(indexJson({ manifests: [child.descriptor], subject: subject.descriptor, artifactType: "application/vnd.example.bundle" }));
    const res = await putManifest(base, repo, sha256(bytes), bytes, MT.ociIndex);
    expectPutCreated(res, repo, sha256(bytes));
    expect(res.headers.get("oci-subject"), show(res)).toBe(subject.digest);
  });

  test("a manifest without a subject answers without OCI-Subject", async () => {
    expect(kept.res.headers.get("oci-subject"), show(kept.res)).toBeNull();
  });

  test("Content-Type parameters are ignored on PUT (application/vnd.oci.image.manifest.v1+json; charset=utf-8)", async () => {
    const repo = "manifests/ct-params";
    const bytes = await ociImageBytes(repo);
    expectPutCreated(await putManifest(base, repo, "p", bytes, `${MT.ociManifest}; charset=utf-8`), repo, sha256(bytes));
    await expectManifest(repo, "p", bytes, MT.ociManifest);
  });

  test("re-pushing the same manifest is idempotent (201 both times)", async () => {
    const repo = "manifests/idempotent";
    const bytes = await ociImageBytes(repo);
    expectPutCreated(await putManifest(base, repo, "x", bytes, MT.ociManifest), repo, sha256(bytes));
    expectPutCreated(await putManifest(base, repo, "x", bytes, MT.ociManifest), repo, sha256(bytes));
    expect(await tagsOf(base, repo)).toEqual(["x"]);
  });

  test("re-pointing a tag serves the new manifest; the old one stays reachable by digest", async () => {
    const repo = "manifests/retag";
    const first = await pushImage(base, repo, { tag: "moving" });
    const second = await pushImage(base, repo, { tag: "moving" });
    await expectManifest(repo, "moving", second.bytes, MT.ociManifest);
    await expectManifest(repo, first.digest, first.bytes, MT.ociManifest);
  });

  test("PUT by a sha512 digest answers 201 with Docker-Content-Digest equal to that digest, and GET by it works", async () => {
    const repo = "manifests/sha512";
    const bytes = await ociImageBytes(repo);
    const digest = sha512(bytes);
    const res = await putManifest(base, repo, digest, bytes, MT.ociManifest);
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
    const got = await getManifest(base, repo, digest);
    expectStatus(got, 200);
    expect(got.text).toBe(new TextDecoder().decode(bytes));
    expect(got.headers.get("docker-content-digest"), show(got)).toBe(digest);
  });

  test("a manifest deleted by digest can be pushed again", async () => {
    const repo = "manifests/repush";
    const img = await pushImage(base, repo, { tag: "v1" });
    expectStatus(await call(base, `/v2/${repo}/manifests/${img.digest}`, { method: "DELETE" }), 202);
    expectStatus(await getManifest(base, repo, img.digest), 404);
    expectPutCreated(await putManifest(base, repo, "v1", img.bytes, MT.ociManifest), repo, img.digest);
    await expectManifest(repo, "v1", img.bytes, MT.ociManifest);
    await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
  });

  test("a 128-character tag is accepted", async () => {
    const repo = "manifests/long-tag";
    const tag = `t${"a".repeat(127)}`;
    const bytes = await ociImageBytes(repo);
    expectPutCreated(await putManifest(base, repo, tag, bytes, MT.ociManifest), repo, sha256(bytes));
    expect(await tagsOf(base, repo)).toEqual([tag]);
  });
});

describe("manifest delete", () => {
  test("DELETE by digest answers 202, then 404 MANIFEST_UNKNOWN, and its tags are gone from tags/list", async () => {
    const repo = "manifests/del-digest";
    const keep = await pushImage(base, repo, { tag: "keep" });
    const doomed = await pushImage(base, repo, { tag: "doomed" });
    expectStatus(await putManifest(base, repo, "doomed-too", doomed.bytes, MT.ociManifest), 201);
    expectStatus(await call(base, `/v2/${repo}/manifests/${doomed.digest}`, { method: "DELETE" }), 202);
    expectError(await getManifest(base, repo, doomed.digest), 404, "MANIFEST_UNKNOWN");
    expectStatus(await getManifest(base, repo, doomed.digest, "HEAD"), 404);
    expectError(await getManifest(base, repo, "doomed"), 404, "MANIFEST_UNKNOWN");
    expectError(await getManifest(base, repo, "doomed-too"), 404, "MANIFEST_UNKNOWN");
    expect(await tagsOf(base, repo)).toEqual(["keep"]);
    await expectManifest(repo, "keep", keep.bytes, MT.ociManifest);
  });

  test("DELETE by tag answers 202 and removes only the tag; the manifest still GETs by digest", async () => {
    const repo = "manifests/del-tag";
    const img = await pushImage(base, repo, { tag: "one" });
    expectStatus(await putManifest(base, repo, "two", img.bytes, MT.ociManifest), 201);
    expectStatus(await call(base, `/v2/${repo}/manifests/one`, { method: "DELETE" }), 202);
    expectError(await getManifest(base, repo, "one"), 404, "MANIFEST_UNKNOWN");
    expect(await tagsOf(base, repo)).toEqual(["two"]);
    await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
    await expectManifest(repo, "two", img.bytes, MT.ociManifest);
  });

  test("DELETE of an unknown manifest or tag answers 404 MANIFEST_UNKNOWN", async () => {
    expectError(await call(base, `/v2/manifests/kept/manifests/${absentDigest()}`, { method: "DELETE" }), 404, "MANIFEST_UNKNOWN");
    expectError(await call(base, `/v2/manifests/kept/manifests/no-such-tag`, { method: "DELETE" }), 404, "MANIFEST_UNKNOWN");
    await expectManifest("manifests/kept", "stable", kept.bytes, MT.ociManifest);
  });

  test("DELETE in an unknown repository answers 404 MANIFEST_UNKNOWN", async () => {
    expectError(await call(base, `/v2/manifests/never-pushed/manifests/${absentDigest()}`, { method: "DELETE" }), 404, "MANIFEST_UNKNOWN");
  });
});

describe("manifest errors", () => {
  test("unknown manifest answers 404 MANIFEST_UNKNOWN (by tag and by digest)", async () => {
    expectError(await getManifest(base, "manifests/kept", "missing"), 404, "MANIFEST_UNKNOWN");
    expectError(await getManifest(base, "manifests/kept", absentDigest()), 404, "MANIFEST_UNKNOWN");
    const head = await getManifest(base, "manifests/kept", "missing", "HEAD");
    expectStatus(head, 404);
    expect(head.body.byteLength).toBe(0);
  });

  test("unknown repository answers 404 MANIFEST_UNKNOWN", async () => {
    expectError(await getManifest(base, "manifests/never-pushed", "latest"), 404, "MANIFEST_UNKNOWN");
    expectStatus(await getManifest(base, "manifests/never-pushed", "latest", "HEAD"), 404);
  });

  test("a config blob not in the repository answers 400 MANIFEST_BLOB_UNKNOWN and nothing is stored", async () => {
    const repo = "manifests/missing-config";
    const layer = await pushBlob(base, repo, randomBytes(50));
    const bytes = serialize(
      imageManifestJson({
        config: { mediaType: MT.ociConfig, digest: absentDigest(), size: 10 },
        layers: [{ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size }],
      }),
    );
    expectError(await putManifest(base, repo, "t", bytes, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, sha256(bytes));
    await expectNoManifest(repo, "t");
    expect((await tagsOf(base, repo)) ?? []).toEqual([]);
  });

  test("a layer blob not in the repository answers 400 MANIFEST_BLOB_UNKNOWN and nothing is stored", async () => {
    const repo = "manifests/missing-layer";
    const config = await pushBlob(base, repo, utf8("{}"));
    const bytes = serialize(
      imageManifestJson({
        config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
        layers: [{ mediaType: MT.ociLayer, digest: absentDigest(), size: 10 }],
      }),
    );
    expectError(await putManifest(base, repo, "t", bytes, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, sha256(bytes));
    await expectNoManifest(repo, "t");
  });

  test("a Docker schema 2 manifest with a missing layer answers 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = "manifests/docker-missing";
    const config = await pushBlob(base, repo, utf8('{"os":"linux"}'));
    const bytes = serialize(
      imageManifestJson({
        mediaType: MT.dockerManifest,
        config: { mediaType: MT.dockerConfig, digest: config.digest, size: config.size },
        layers: [{ mediaType: MT.dockerLayer, digest: absentDigest(), size: 10 }],
      }),
    );
    expectError(await putManifest(base, repo, "t", bytes, MT.dockerManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, "t");
  });

  test("a manifest referencing a blob deleted from the repository answers 400 MANIFEST_BLOB_UNKNOWN; after re-upload it is accepted", async () => {
    const repo = "manifests/deleted-blob";
    const bytes = await ociImageBytes(repo);
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { layers: Array<{ digest: string }> };
    const layerDigest = doc.layers[0]?.digest ?? "";
    const layer = await call(base, `/v2/${repo}/blobs/${layerDigest}`);
    expectStatus(layer, 200);
    expectStatus(await call(base, `/v2/${repo}/blobs/${layerDigest}`, { method: "DELETE" }), 202);
    expectError(await putManifest(base, repo, "t", bytes, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, "t");
    await pushBlob(base, repo, layer.body);
    expectPutCreated(await putManifest(base, repo, "t", bytes, MT.ociManifest), repo, sha256(bytes));
  });

  test("an index whose child manifest is missing answers 400 MANIFEST_BLOB_UNKNOWN and nothing is stored", async () => {
    const repo = "manifests/missing-child";
    const present = await pushImage(base, repo, { tag: "present" });
    const bytes = serialize(indexJson({ manifests: [present.descriptor, { mediaType: MT.ociManifest, digest: absentDigest(), size: 500 }] }));
    expectError(await putManifest(base, repo, "idx", bytes, MT.ociIndex), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, sha256(bytes));
    expect(await tagsOf(base, repo)).toEqual(["present"]);
  });

  test("a Docker manifest list whose child is missing answers 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = "manifests/missing-list-child";
    const bytes = serialize(
      indexJson({
        mediaType: MT.dockerList,
        manifests: [{ mediaType: MT.dockerManifest, digest: absentDigest(), size: 500, platform: { architecture: "amd64", os: "linux" } }],
      }),
    );
    expectError(await putManifest(base, repo, "list", bytes, MT.dockerList), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, "list");
  });

  test("an index child that exists only as a blob (not a manifest) answers 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = "manifests/child-is-blob";
    const blob = await pushBlob(base, repo, utf8('{"schemaVersion":2}'));
    const bytes = serialize(indexJson({ manifests: [{ mediaType: MT.ociManifest, digest: blob.digest, size: blob.size }] }));
    expectError(await putManifest(base, repo, "idx", bytes, MT.ociIndex), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(repo, "idx");
  });

  test("isolation: a manifest in repo B referencing a blob that exists only in repo A answers MANIFEST_BLOB_UNKNOWN", async () => {
    const inA = await pushImage(base, "manifests/iso-a", { tag: "a" });
    await pushBlob(base, "manifests/iso-b", randomBytes(10));
    expectError(await putManifest(base, "manifests/iso-b", "b", inA.bytes, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest("manifests/iso-b", "b");
    await expectNoManifest("manifests/iso-b", inA.digest);
  });

  test("isolation: a manifest pushed only to repo A answers 404 MANIFEST_UNKNOWN through repo B", async () => {
    const inA = await pushImage(base, "manifests/iso-get-a", { tag: "a" });
    await pushImage(base, "manifests/iso-get-b", { tag: "b" });
    expectError(await getManifest(base, "manifests/iso-get-b", inA.digest), 404, "MANIFEST_UNKNOWN");
    expectStatus(await getManifest(base, "manifests/iso-get-b", inA.digest, "HEAD"), 404);
    expectError(await getManifest(base, "manifests/iso-get-b", "a"), 404, "MANIFEST_UNKNOWN");
    await expectManifest("manifests/iso-get-a", inA.digest, inA.bytes, MT.ociManifest);
  });

  test("malformed JSON answers 400 MANIFEST_INVALID and nothing is stored", async () => {
    const repo = "manifests/malformed";
    await pushImage(base, repo, { tag: "ok" });
    for (const body of ['{"schemaVersion": 2, "config": ', "not json at all", "[]", "null", '"string"', "{}"]) {
      expectError(await putManifest(base, repo, "bad", body, MT.ociManifest), 400, "MANIFEST_INVALID");
      await expectNoManifest(repo, sha256(body));
    }
    expect(await tagsOf(base, repo)).toEqual(["ok"]);
  });

  test("a structurally invalid manifest (config missing, layers not an array, bad descriptor digest) answers 400 MANIFEST_INVALID", async () => {
    const repo = "manifests/structure";
    const config = await pushBlob(base, repo, utf8("{}"));
    const cfg = { mediaType: MT.ociConfig, digest: config.digest, size: config.size };
    const bodies = [
      { schemaVersion: 2, mediaType: MT.ociManifest, layers: [] },
      { schemaVersion: 2, mediaType: MT.ociManifest, config: cfg, layers: "nope" },
      { schemaVersion: 2, mediaType: MT.ociManifest, config: { ...cfg, digest: "sha256:nothex" }, layers: [] },
      { schemaVersion: 3, mediaType: MT.ociManifest, config: cfg, layers: [] },
    ];
    for (const doc of bodies) {
      const bytes = serialize(doc);
      expectError(await putManifest(base, repo, "t", bytes, MT.ociManifest), 400, "MANIFEST_INVALID");
      await expectNoManifest(repo, sha256(bytes));
    }
    expect((await tagsOf(base, repo)) ?? []).toEqual([]);
  });

  test("schema 1 (v1+prettyjws) answers 400 MANIFEST_INVALID with a message saying schema 1 is not supported", async () => {
    const repo = "manifests/schema1";
    const body = JSON.stringify({
      schemaVersion: 1,
      name: repo,
      tag: "old",
      architecture: "amd64",
      fsLayers: [{ blobSum: absentDigest() }],
      history: [{ v1Compatibility: "{}" }],
      signatures: [],
    });
    for (const ct of [MT.dockerSchema1Signed, MT.dockerSchema1]) {
      const err = expectError(await putManifest(base, repo, "old", body, ct), 400, "MANIFEST_INVALID");
      expect(err.message ?? "", `Content-Type ${ct}`).toMatch(/schema\s*(version\s*)?1|schema1/i);
      expect(err.message ?? "", `Content-Type ${ct}`).toMatch(/not supported|unsupported|no longer supported/i);
    }
    await expectNoManifest(repo, "old");
  });

  test("schemaVersion 1 under an OCI Content-Type answers 400 MANIFEST_INVALID saying schema 1 is not supported", async () => {
    const repo = "manifests/schema1-oci";
    const body = JSON.stringify({ schemaVersion: 1, name: repo, tag: "old", fsLayers: [], history: [] });
    const err = expectError(await putManifest(base, repo, "old", body, MT.ociManifest), 400, "MANIFEST_INVALID");
    expect(err.message ?? "").toMatch(/schema\s*(version\s*)?1|schema1/i);
    expect(err.message ?? "").toMatch(/not supported|unsupported|no longer supported/i);
    await expectNoManifest(repo, "old");
  });

  test("PUT by a digest that does not match the body answers 400 DIGEST_INVALID and nothing is stored", async () => {
    const repo = "manifests/digest-mismatch";
    const bytes = await ociImageBytes(repo);
    const wrong = absentDigest();
    expectError(await putManifest(base, repo, wrong, bytes, MT.ociManifest), 400, "DIGEST_INVALID");
    await expectNoManifest(repo, wrong);
    await expectNoManifest(repo, sha256(bytes));
  });

  test("PUT by a malformed digest answers 400 DIGEST_INVALID (conformance: sha256:totallywrong)", async () => {
    const repo = "manifests/digest-malformed";
    const bytes = await ociImageBytes(repo);
    expectError(await putManifest(base, repo, "sha256:totallywrong", bytes, MT.ociManifest), 400, "DIGEST_INVALID");
    await expectNoManifest(repo, sha256(bytes));
  });

  test("a body over the default limit (4194304 bytes) answers 413 SIZE_INVALID and nothing is stored", async () => {
    const repo = "manifests/too-big";
    const small = await ociImageBytes(repo);
    const doc = JSON.parse(new TextDecoder().decode(small)) as Record<string, unknown>;
    const bytes = padManifest(doc, 4_194_305);
    expect(bytes.byteLength).toBe(4_194_305);
    expectError(await putManifest(base, repo, "big", bytes, MT.ociManifest), 413, "SIZE_INVALID");
    await expectNoManifest(repo, "big");
    await expectNoManifest(repo, sha256(bytes));
    await expectAlive(berth);
  });

  test("a streamed body (no Content-Length) over the limit answers 413 SIZE_INVALID", async () => {
    const repo = "manifests/too-big-stream";
    const small = await ociImageBytes(repo);
    const bytes = padManifest(JSON.parse(new TextDecoder().decode(small)) as Record<string, unknown>, 5_000_000);
    const step = 256 * 1024;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.byteLength) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.subarray(offset, offset + step));
        offset += step;
      },
    });
    let res: Resp;
    try {
      res = await call(base, `/v2/${repo}/manifests/big`, { method: "PUT", headers: { "Content-Type": MT.ociManifest }, body: stream });
    } catch (err) {
      // the server may answer 413 and close before the client finished sending
      const again = await getManifest(base, repo, "big");
      expect(again.status, `request failed (${String(err)}) and the manifest must not be stored`).toBe(404);
      await expectAlive(berth);
      return;
    }
    expectError(res, 413, "SIZE_INVALID");
    await expectNoManifest(repo, "big");
    await expectAlive(berth);
  });

  test("a manifest of exactly the default limit (4194304 bytes) is accepted", async () => {
    const repo = "manifests/at-limit";
    const small = await ociImageBytes(repo);
    const bytes = padManifest(JSON.parse(new TextDecoder().decode(small)) as Record<string, unknown>, 4_194_304);
    expect(bytes.byteLength).toBe(4_194_304);
    expectPutCreated(await putManifest(base, repo, "max", bytes, MT.ociManifest), repo, sha256(bytes));
    const res = await getManifest(base, repo, "max", "HEAD");
    expect(res.headers.get("content-length"), show(res)).toBe("4194304");
  });

  test("bad tags (bad:tag, 129 characters, leading . or -) answer 400 and nothing is stored", async () => {
    const repo = "manifests/bad-tags";
    const bytes = await ociImageBytes(repo);
    // A tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. The spec's code table has no tag code
    // (TAG_INVALID is a legacy schema-1 code), so an invalid reference is MANIFEST_INVALID; "bad:tag"
    // has the shape algorithm:encoded of a digest, so it is an invalid digest: DIGEST_INVALID.
    const cases: Array<[string, string]> = [
      ["bad:tag", "DIGEST_INVALID"],
      [`t${"a".repeat(128)}`, "MANIFEST_INVALID"],
      [".hidden", "MANIFEST_INVALID"],
      ["-dash", "MANIFEST_INVALID"],
    ];
    for (const [tag, code] of cases) {
      expectError(await putManifest(base, repo, tag, bytes, MT.ociManifest), 400, code);
      expectError(await getManifest(base, repo, tag), 404, "MANIFEST_UNKNOWN");
    }
    await expectNoManifest(repo, sha256(bytes));
    expect((await tagsOf(base, repo)) ?? []).toEqual([]);
  });

  test("GET, HEAD and DELETE of a reference that is neither a tag nor a digest answer 404 MANIFEST_UNKNOWN", async () => {
    // the OCI conformance suite looks up ".INVALID_MANIFEST_NAME" and expects 404, as for an absent tag
    for (const reference of [".INVALID", ".INVALID_MANIFEST_NAME", "-dash", `t${"a".repeat(128)}`, "sha256:totallywrong", "md5:abc", "bad:tag"]) {
      for (const repo of ["manifests/kept", "manifests/never-pushed"]) {
        const path = `/v2/${repo}/manifests/${reference}`;
        expectError(await call(base, path), 404, "MANIFEST_UNKNOWN");
        expectError(await call(base, path, { method: "DELETE" }), 404, "MANIFEST_UNKNOWN");
        const head = await call(base, path, { method: "HEAD" });
        expectStatus(head, 404);
        expect(head.body.byteLength, show(head)).toBe(0);
      }
    }
    await expectManifest("manifests/kept", "stable", kept.bytes, MT.ociManifest);
  });

  test("a manifest over 10,000 descriptors answers 400 MANIFEST_INVALID naming the bound; one at it is accepted", async () => {
    const repo = "manifests/many-descriptors";
    const layer = await pushBlob(base, repo, randomBytes(64));
    const config = await pushBlob(base, repo, EMPTY_CONFIG_BYTES);
    const layerDescriptor = { mediaType: MT.ociLayer, digest: layer.digest, size: 64 };
    const configDescriptor = { mediaType: MT.ociEmpty, digest: config.digest, size: EMPTY_CONFIG_BYTES.byteLength };
    const manifest = (layers: number) => utf8(JSON.stringify(imageManifestJson({ config: configDescriptor, layers: Array(layers).fill(layerDescriptor) })));
    // config + 10,000 layers: one over
    const over = manifest(10_000);
    const err = expectError(await putManifest(base, repo, "over", over, MT.ociManifest), 400, "MANIFEST_INVALID");
    expect(err.message).toContain("10001 descriptors");
    expect(err.message).toContain("at most 10000");
    await expectNoManifest(repo, sha256(over));
    // config + 9,999 layers, all the same blob: accepted (and the blob is looked up once)
    const atBound = manifest(9_999);
    expectPutCreated(await putManifest(base, repo, "at-bound", atBound, MT.ociManifest), repo, sha256(atBound));
  });

  test("an index listing more than 10,000 manifests answers 400 MANIFEST_INVALID", async () => {
    const repo = "manifests/many-children";
    const child = await pushImage(base, repo, { tag: "child" });
    const descriptor = { mediaType: MT.ociManifest, digest: child.digest, size: child.bytes.byteLength };
    const over = utf8(JSON.stringify(indexJson({ manifests: Array(10_001).fill(descriptor) })));
    expectError(await putManifest(base, repo, "over", over, MT.ociIndex), 400, "MANIFEST_INVALID");
    const repeated = utf8(JSON.stringify(indexJson({ manifests: Array(1_000).fill(descriptor) })));
    expectPutCreated(await putManifest(base, repo, "repeated", repeated, MT.ociIndex), repo, sha256(repeated));
  });
});

describe("manifest robustness", () => {
  test("empty body answers 400 MANIFEST_INVALID and nothing is stored", async () => {
    const repo = "manifests/empty-body";
    expectError(await putManifest(base, repo, "e", new Uint8Array(0), MT.ociManifest), 400, "MANIFEST_INVALID");
    await expectNoManifest(repo, "e");
  });

  test("a Content-Type that contradicts the body's mediaType is rejected with 400 MANIFEST_INVALID", async () => {
    const repo = "manifests/ct-mismatch";
    const bytes = await ociImageBytes(repo);
    expectError(await putManifest(base, repo, "m", bytes, MT.ociIndex), 400, "MANIFEST_INVALID");
    await expectNoManifest(repo, "m");
  });

  // A generic type (none, application/json, application/octet-stream) leaves the body's mediaType
  // to decide; any other type that is not a manifest type is unsupported.
  test.each([
    ["text/plain", 400],
    ["application/octet-stream", 201],
    ["application/json", 201],
    ["garbage", 400],
    ["", 201],
    ["application/vnd.oci.image.layer.v1.tar", 400],
  ])("a manifest PUT with Content-Type %p answers %i; a rejection stores nothing", async (ct, expected) => {
    const repo = "manifests/wrong-ct";
    const bytes = await ociImageBytes(repo);
    const tag = `ct-${Math.random().toString(36).slice(2, 8)}`;
    const res = await putManifest(base, repo, tag, bytes, ct);
    if (expected === 201) {
      expectStatus(res, 201);
      // accepted using the body's mediaType: then it must be served as that type
      await expectManifest(repo, tag, bytes, MT.ociManifest);
    } else {
      expectError(res, 400, "MANIFEST_INVALID");
      await expectNoManifest(repo, tag);
    }
    await expectAlive(berth);
  });

  test("a manifest without mediaType under an unknown Content-Type answers 400 MANIFEST_INVALID", async () => {
    const repo = "manifests/no-mediatype";
    const config = await pushBlob(base, repo, utf8("{}"));
    const bytes = serialize(imageManifestJson({ omitMediaType: true, config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size }, layers: [] }));
    expectError(await putManifest(base, repo, "t", bytes, "application/x-unknown"), 400, "MANIFEST_INVALID");
    await expectNoManifest(repo, "t");
  });

  test("unknown methods on a manifest URL answer 405 UNSUPPORTED with the JSON error envelope", async () => {
    for (const method of ["POST", "PATCH"]) {
      expectError(await call(base, `/v2/manifests/kept/manifests/stable`, { method, body: kept.bytes }), 405, "UNSUPPORTED");
    }
    const weird = await call(base, "/v2/manifests/kept/manifests/stable", { method: "PROPFIND" });
    expectError(weird, 405, "UNSUPPORTED");
    await expectManifest("manifests/kept", "stable", kept.bytes, MT.ociManifest);
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    await expectManifest("manifests/kept", "stable", kept.bytes, MT.ociManifest);
    await expectManifest("manifests/kept", kept.digest, kept.bytes, MT.ociManifest);
    expect(await tagsOf(base, "manifests/kept")).toEqual(["stable"]);
  });
});
