/**
 * Referrers API: GET /v2/<name>/referrers/<digest> (end-12a/12b), distribution-spec v1.1
 * "Listing Referrers".
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { testWithServerLog } from "../helpers/server.ts";
import {
  absentDigest,
  call,
  expectAlive,
  expectError,
  expectStatus,
  indexJson,
  MT,
  pushArtifact,
  pushBlob,
  pushImage,
  putManifest,
  serialize,
  sha256,
  show,
  type Descriptor,
  type PushedArtifact,
  type PushedImage,
  type Resp,
} from "../helpers/oci.ts";

let berth: InProcessBerth;

const test = testWithServerLog(() => [berth]);
let base: string;
const REPO = "referrers/app";
const SBOM = "application/vnd.example.sbom.v1";
const SIG = "application/vnd.example.signature.v1";
const CONFIG_TYPE = "application/vnd.example.config.v1+json";

let subject: PushedImage;
let sbom: PushedArtifact;
let sig: PushedArtifact;
let untyped: PushedImage;
let index: { digest: string; size: number };

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

function parseIndex(res: Resp): ReferrersIndex {
  const doc = JSON.parse(res.text) as ReferrersIndex;
  expect(doc.schemaVersion, show(res)).toBe(2);
  expect(doc.mediaType, show(res)).toBe(MT.ociIndex);
  expect(Array.isArray(doc.manifests), show(res)).toBe(true);
  return doc;
}

async function referrers(repo: string, digest: string, query = ""): Promise<Resp> {
  return call(base, `/v2/${repo}/referrers/${digest}${query}`);
}

function byDigest(list: Descriptor[]): Map<string, Descriptor> {
  return new Map(list.map((d) => [d.digest, d]));
}

beforeAll(async () => {
  berth = await startInProcess();
  base = berth.url;
  subject = await pushImage(base, REPO, { tag: "v1" });
  sbom = await pushArtifact(base, REPO, {
    subject: subject.descriptor,
    artifactType: SBOM,
    annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z", "org.example.sbom.format": "json" },
  });
  sig = await pushArtifact(base, REPO, {
    subject: subject.descriptor,
    artifactType: SIG,
    annotations: { "org.example.signature.fingerprint": "abcd" },
  });
  // an image manifest with a subject but no artifactType: the descriptor takes the config mediaType
  untyped = await pushImage(base, REPO, { subject: subject.descriptor, configMediaType: CONFIG_TYPE });
  // an index with a subject and no artifactType: artifactType must be omitted
  const child = await pushImage(base, REPO);
  const bytes = serialize(indexJson({ manifests: [child.descriptor], subject: subject.descriptor, annotations: { "org.example.kind": "bundle" } }));
  expectStatus(await putManifest(base, REPO, sha256(bytes), bytes, MT.ociIndex), 201);
  index = { digest: sha256(bytes), size: bytes.byteLength };
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

describe("referrers", () => {
  test("GET referrers answers 200 with an OCI image index (Content-Type application/vnd.oci.image.index.v1+json)", async () => {
    const res = await referrers(REPO, subject.digest);
    expectStatus(res, 200);
    expect(res.headers.get("content-type"), show(res)).toBe(MT.ociIndex);
    const doc = parseIndex(res);
    expect(doc.manifests.map((d) => d.digest).sort()).toEqual([sbom.digest, sig.digest, untyped.digest, index.digest].sort());
  });

  test("each referrer descriptor carries mediaType, digest, size, artifactType and annotations of the manifest", async () => {
    const doc = parseIndex(await referrers(REPO, subject.digest));
    const map = byDigest(doc.manifests);
    expect(map.get(sbom.digest)).toEqual({
      mediaType: MT.ociManifest,
      digest: sbom.digest,
      size: sbom.size,
      artifactType: SBOM,
      annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z", "org.example.sbom.format": "json" },
    });
    expect(map.get(sig.digest)).toEqual({
      mediaType: MT.ociManifest,
      digest: sig.digest,
      size: sig.size,
      artifactType: SIG,
      annotations: { "org.example.signature.fingerprint": "abcd" },
    });
  });

  test("an image manifest without artifactType is listed with the config mediaType as artifactType", async () => {
    const d = byDigest(parseIndex(await referrers(REPO, subject.digest)).manifests).get(untyped.digest);
    expect(d?.mediaType).toBe(MT.ociManifest);
    expect(d?.size).toBe(untyped.size);
    expect(d?.artifactType).toBe(CONFIG_TYPE);
    expect(d?.annotations === undefined || Object.keys(d.annotations).length === 0).toBe(true);
  });

  test("an index with a subject and no artifactType is listed without artifactType and with its annotations", async () => {
    const d = byDigest(parseIndex(await referrers(REPO, subject.digest)).manifests).get(index.digest);
    expect(d).toBeDefined();
    expect(d?.mediaType).toBe(MT.ociIndex);
    expect(d?.size).toBe(index.size);
    expect(d !== undefined && "artifactType" in d).toBe(false);
    expect(d?.annotations).toEqual({ "org.example.kind": "bundle" });
  });

  test("?artifactType= filters the list and the response has OCI-Filters-Applied: artifactType", async () => {
    const res = await referrers(REPO, subject.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
    expectStatus(res, 200);
    expect(res.headers.get("oci-filters-applied"), show(res)).toBe("artifactType");
    expect(res.headers.get("content-type"), show(res)).toBe(MT.ociIndex);
    expect(parseIndex(res).manifests.map((d) => d.digest)).toEqual([sbom.digest]);
  });

  test("?artifactType= with no match answers 200 with an empty index and OCI-Filters-Applied", async () => {
    const res = await referrers(REPO, subject.digest, `?artifactType=${encodeURIComponent("application/vnd.example.none")}`);
    expectStatus(res, 200);
    expect(res.headers.get("oci-filters-applied"), show(res)).toBe("artifactType");
    expect(parseIndex(res).manifests).toEqual([]);
  });

  test("an unfiltered request has no OCI-Filters-Applied header", async () => {
    const res = await referrers(REPO, subject.digest);
    expect(res.headers.get("oci-filters-applied"), show(res)).toBeNull();
  });

  test("a manifest with no referrers answers 200 with an empty index", async () => {
    const lonely = await pushImage(base, REPO, { tag: "lonely" });
    const res = await referrers(REPO, lonely.digest);
    expectStatus(res, 200);
    expect(res.headers.get("content-type"), show(res)).toBe(MT.ociIndex);
    expect(parseIndex(res).manifests).toEqual([]);
  });

  test("a digest that was never pushed answers 200 with an empty index (never 404)", async () => {
    const res = await referrers(REPO, absentDigest());
    expectStatus(res, 200);
    expect(parseIndex(res).manifests).toEqual([]);
  });

  test("a referrer pushed before its subject is listed, before and after the subject arrives", async () => {
    const repo = "referrers/early";
    // build the subject in another repository so its bytes and digest are known but it is absent here
    const later = await pushImage(base, "referrers/early-src");
    const art = await pushArtifact(base, repo, { subject: later.descriptor, artifactType: SIG });
    expect(art.res.headers.get("oci-subject"), show(art.res)).toBe(later.digest);
    const before = await referrers(repo, later.digest);
    expectStatus(before, 200);
    expect(parseIndex(before).manifests.map((d) => d.digest)).toEqual([art.digest]);
    // now push the subject itself
    await pushBlob(base, repo, later.config.bytes);
    for (const layer of later.layers) await pushBlob(base, repo, layer.bytes);
    expectStatus(await putManifest(base, repo, "v1", later.bytes, MT.ociManifest), 201);
    expect(parseIndex(await referrers(repo, later.digest)).manifests.map((d) => d.digest)).toEqual([art.digest]);
  });

  test("deleting a referrer removes it from the list", async () => {
    const repo = "referrers/delete";
    const subj = await pushImage(base, repo, { tag: "v1" });
    const a = await pushArtifact(base, repo, { subject: subj.descriptor, artifactType: SBOM });
    const b = await pushArtifact(base, repo, { subject: subj.descriptor, artifactType: SIG });
    expect(parseIndex(await referrers(repo, subj.digest)).manifests.map((d) => d.digest).sort()).toEqual([a.digest, b.digest].sort());
    expectStatus(await call(base, `/v2/${repo}/manifests/${a.digest}`, { method: "DELETE" }), 202);
    expect(parseIndex(await referrers(repo, subj.digest)).manifests.map((d) => d.digest)).toEqual([b.digest]);
    expectStatus(await call(base, `/v2/${repo}/manifests/${b.digest}`, { method: "DELETE" }), 202);
    expect(parseIndex(await referrers(repo, subj.digest)).manifests).toEqual([]);
  });

  test("referrers are scoped to the repository", async () => {
    // a repository nothing was pushed to has no referrers: an empty index, as for any subject
    const res = await referrers("referrers/other", subject.digest);
    expectStatus(res, 200);
    expect(parseIndex(res).manifests).toEqual([]);
    // the same subject digest attached in another repository does not leak into REPO
    const repo = "referrers/scoped";
    const art = await pushArtifact(base, repo, { subject: subject.descriptor, artifactType: SBOM });
    const mine = parseIndex(await referrers(REPO, subject.digest)).manifests.map((d) => d.digest);
    expect(mine).not.toContain(art.digest);
    expect(parseIndex(await referrers(repo, subject.digest)).manifests.map((d) => d.digest)).toEqual([art.digest]);
  });

  test("re-pushing a referrer does not duplicate it", async () => {
    expectStatus(await putManifest(base, REPO, sig.digest, sig.bytes, MT.ociManifest), 201);
    expectStatus(await putManifest(base, REPO, "sig-tag", sig.bytes, MT.ociManifest), 201);
    const digests = parseIndex(await referrers(REPO, subject.digest)).manifests.map((d) => d.digest);
    expect(digests.filter((d) => d === sig.digest)).toHaveLength(1);
  });

  test("an invalid digest answers 400 DIGEST_INVALID", async () => {
    for (const d of ["sha256:abc", "notadigest", `sha256:${"z".repeat(64)}`]) {
      const res = await referrers(REPO, d);
      expectError(res, 400, "DIGEST_INVALID");
    }
  });

  test("unknown methods on referrers answer 405 UNSUPPORTED with the JSON error envelope", async () => {
    for (const method of ["PUT", "POST", "DELETE", "PATCH"]) {
      expectError(await call(base, `/v2/${REPO}/referrers/${subject.digest}`, { method, body: method === "DELETE" ? "" : "{}" }), 405, "UNSUPPORTED");
    }
    expect(parseIndex(await referrers(REPO, subject.digest)).manifests.length).toBe(4);
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    const res = await call(base, `/v2/${REPO}/manifests/v1`, { headers: { Accept: MT.ociManifest } });
    expectStatus(res, 200);
    expect(res.text).toBe(new TextDecoder().decode(subject.bytes));
    expect(parseIndex(await referrers(REPO, subject.digest)).manifests.length).toBe(4);
  });
});
