/**
 * Leftovers of crashes and odd-but-valid requests: a stray temp file, a tag directory without
 * its link, a Host header shorter than four characters, a bad digest on a one-shot upload.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, startBerth, tempDir, withServerLog } from "../helpers/server.ts";
import { call, expectError, getManifest, hexOf, MT, pushArtifact, pushImage, putManifest, raw, serialize, tagsOf, utf8 } from "../helpers/oci.ts";

/** made here, not by startBerth: a test restarts Berth on it */
const root = tempDir("berth-robustness-");
let berth: BerthProcess;
const logs = () => [berth];
const base = () => berth.url;
const repoDir = (repo: string) => join(berth.root, "docker/registry/v2/repositories", repo);

beforeAll(async () => {
  berth = await startBerth({ root });
});
afterAll(async () => {
  await berth?.stop();
  removeDir(root);
});

describe("crash leftovers", () => {
  test(
    "a stray or torn file among the referrers index entries does not break the referrers answer",
    withServerLog(logs, async () => {
      const repo = "robust/referrers";
      const subject = await pushImage(base(), repo, { tag: "v1" });
      const artifact = await pushArtifact(base(), repo, { subject: subject.descriptor, artifactType: "application/vnd.example" });
      const entries = join(berth.root, "berth/referrers", repo, "_subjects/sha256", hexOf(subject.digest), "sha256");
      // what kill -9 during a write leaves (an empty temp file), and garbage under a digest name
      writeFileSync(join(entries, `.${hexOf(artifact.digest)}.tmp-4242-7`), "");
      writeFileSync(join(entries, "not-a-digest"), "{");
      writeFileSync(join(entries, "a".repeat(64)), "{torn");
      const res = await call(base(), `/v2/${repo}/referrers/${subject.digest}`);
      expect(res.status).toBe(200);
      const index = JSON.parse(res.text) as { manifests: Array<{ digest: string }> };
      expect(index.manifests.map((m) => m.digest)).toEqual([artifact.digest]);
    }),
  );

  test(
    "a tag directory left without its current link is not listed, and deleting it cleans it up",
    withServerLog(logs, async () => {
      const repo = "robust/ghost-tag";
      await pushImage(base(), repo, { tag: "real" });
      mkdirSync(join(repoDir(repo), "_manifests/tags/ghost/index/sha256"), { recursive: true });
      // a fresh process has no cached tag list: restart to read the tree
      await berth.stop();
      berth = await startBerth({ root });
      expect(await tagsOf(base(), repo)).toEqual(["real"]);
      expect((await getManifest(base(), repo, "ghost")).status).toBe(404);
      expectError(await call(base(), `/v2/${repo}/manifests/ghost`, { method: "DELETE" }), 404, "MANIFEST_UNKNOWN");
      expect(readdirSync(join(repoDir(repo), "_manifests/tags"))).toEqual(["real"]);
    }),
  );
});

describe("requests", () => {
  test(
    "a Host header shorter than four characters is routed like any other",
    withServerLog(logs, async () => {
      for (const host of ["hub", "r", "reg:80"]) {
        const res = await raw(berth, "GET", "/v2/", { headers: { Host: host } });
        expect(res.status).toBe(200);
      }
    }),
  );

  test(
    "a one-shot upload with a malformed digest answers DIGEST_INVALID and leaves no upload session",
    withServerLog(logs, async () => {
      const repo = "robust/bad-digest";
      const res = await call(base(), `/v2/${repo}/blobs/uploads/?digest=sha256:nothex`, { method: "POST", body: utf8("x") });
      expectError(res, 400, "DIGEST_INVALID");
      expect(() => readdirSync(join(repoDir(repo), "_uploads"))).toThrow();
    }),
  );

  test(
    "a manifest pushed with a Docker media type but no mediaType field is refused (it would read back as OCI)",
    withServerLog(logs, async () => {
      const repo = "robust/docker-no-mediatype";
      const image = await pushImage(base(), repo, { tag: "v1" });
      const doc = JSON.parse(new TextDecoder().decode(image.bytes)) as Record<string, unknown>;
      delete doc.mediaType;
      for (const type of [MT.dockerManifest, MT.dockerList]) {
        const body = type === MT.dockerList ? serialize({ schemaVersion: 2, manifests: [] }) : serialize(doc);
        expectError(await putManifest(base(), repo, "bare", body, type), 400, "MANIFEST_INVALID");
      }
      expect(await tagsOf(base(), repo)).toEqual(["v1"]);
    }),
  );
});
