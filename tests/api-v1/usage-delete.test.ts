/**
 * GET /api/v1/usage (bytes per repository and namespace, unique and shared, and the store's
 * totals) and DELETE /api/v1/repositories/<name> in-process, on SQLite and on PostgreSQL.
 */
import { describe, expect, test } from "bun:test";
import { blobExists, call, expectError, expectStatus, getManifest, pushBlob, randomBytes, tagsOf } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { api, inProcessSuite, names, pushKnownImage } from "./support.ts";

const suite = inProcessSuite();
const start = (backend: string, env: Record<string, string> = {}) => suite.start(backend, { env });

interface GcStatus {
  waiting_count: number;
  waiting: Array<{ digest: string; size: number }>;
}

describe.each(metadataBackends())("usage and repository deletes on %s", (backend) => {
  test("usage: each repository's and namespace's bytes, unique and shared; the store's totals", async () => {
    const { url } = await start(backend);
    const everywhere = randomBytes(1000); // in a/one, a/two and b/one
    const inA = randomBytes(50); // in a/one and a/two only
    const one = await pushKnownImage(url, "a/one", "v1", { layers: [everywhere, inA, randomBytes(100)] });
    const two = await pushKnownImage(url, "a/two", "v1", { layers: [everywhere, inA, randomBytes(200)] });
    const three = await pushKnownImage(url, "b/one", "v1", { layers: [everywhere, randomBytes(300)] });
    const waiting = await pushBlob(url, "b/one", randomBytes(77)); // uploaded, never referenced
    expectStatus(await call(url, "/v2/b/one/blobs/uploads/", { method: "POST" }), 202); // a session left open

    const sharedDigests = new Set([one.layers[0]?.digest, one.layers[1]?.digest]);
    const own = (image: typeof one) => image.total - image.layers.filter((l) => sharedDigests.has(l.digest)).reduce((sum, l) => sum + l.size, 0);
    const res = await api(url, "/api/v1/usage");
    expectStatus(res, 200);
    const referenced = own(one) + own(two) + own(three) + 1000 + 50;
    expect(res.json).toEqual({
      stored_bytes: referenced + waiting.size,
      stored_blobs: 3 * 3 + 2 + 1, // 3 manifests, 3 configs, 3 own layers; the two shared layers; the waiting blob
      referenced_bytes: referenced,
      gc_waiting_bytes: waiting.size,
      gc_waiting_blobs: 1,
      uploads_in_progress: 1,
      repositories: [
        { name: "b/one", size: three.total, unique: own(three), shared: 1000 },
        { name: "a/two", size: two.total, unique: own(two), shared: 1050 },
        { name: "a/one", size: one.total, unique: own(one), shared: 1050 },
      ].sort((x, y) => y.size - x.size || (x.name < y.name ? -1 : 1)),
      namespaces: [
        { name: "a", repositories: 2, size: own(one) + own(two) + 1050, unique: own(one) + own(two) + 50, shared: 1000 },
        { name: "b", repositories: 1, size: three.total, unique: own(three), shared: 1000 },
      ].sort((x, y) => y.size - x.size),
    });
  });

  test("DELETE removes the repository from the catalog and the tree, keeps nested and other ones, queues only its own blobs", async () => {
    const { url } = await start(backend);
    const shared = randomBytes(900);
    const tagged = await pushKnownImage(url, "del/app", "v1", { layers: [shared, randomBytes(100)] });
    const untagged = await pushKnownImage(url, "del/app", null, { layers: [randomBytes(110)] });
    const nested = await pushKnownImage(url, "del/app/nested", "v1", { layers: [randomBytes(120)] });
    const kept = await pushKnownImage(url, "keep/app", "v1", { layers: [shared] });

    const before = JSON.parse((await call(url, "/v2/_catalog")).text) as { repositories: string[] }; // the catalog is built: DELETE edits it
    expect(before.repositories).toEqual(["del/app", "del/app/nested", "keep/app"]);
    const res = await api(url, "/api/v1/repositories/del/app", { method: "DELETE" });
    expectStatus(res, 202);
    const own = [tagged.digest, tagged.config.digest, ...tagged.layers.map((l) => l.digest), untagged.digest, untagged.config.digest, ...untagged.layers.map((l) => l.digest)]
      .filter((digest) => digest !== kept.layers[0]?.digest);
    expect(res.json).toEqual({ name: "del/app", manifests: 2, tags: 1, blobs_queued: own.length });

    const catalog = JSON.parse((await call(url, "/v2/_catalog")).text) as { repositories: string[] };
    expect(catalog.repositories).toEqual(["del/app/nested", "keep/app"]);
    expect(names((await api(url, "/api/v1/repositories")).json, "repositories")).toEqual(["del/app/nested", "keep/app"]);
    expectError(await call(url, "/v2/del/app/tags/list"), 404, "NAME_UNKNOWN");
    expectError(await call(url, "/api/v1/repositories/del/app/tags"), 404, "NAME_UNKNOWN");
    expectError(await getManifest(url, "del/app", tagged.digest), 404, "MANIFEST_UNKNOWN");
    expect(await blobExists(url, "del/app", tagged.layers[1]?.digest ?? "")).toBe(404);
    expectError(await call(url, "/api/v1/repositories/del/app", { method: "DELETE" }), 404, "NAME_UNKNOWN");

    const gc = JSON.parse((await call(url, "/api/v1/gc")).text) as GcStatus;
    expect(gc.waiting.map((w) => w.digest).sort()).toEqual([...own].sort());
    expectStatus(await getManifest(url, "del/app/nested", nested.digest), 200);
    expect(await tagsOf(url, "del/app/nested")).toEqual(["v1"]);
    expectStatus(await getManifest(url, "keep/app", "v1"), 200);
    expect(await blobExists(url, "keep/app", kept.layers[0]?.digest ?? "")).toBe(200);

    // a push brings the name back
    await pushKnownImage(url, "del/app", "v2", { layers: [randomBytes(10)] });
    expect((JSON.parse((await call(url, "/v2/_catalog")).text) as { repositories: string[] }).repositories).toEqual(["del/app", "del/app/nested", "keep/app"]);
    expect(await tagsOf(url, "del/app")).toEqual(["v2"]);
  });

  test("with gc.delay 0 the next GC frees exactly the deleted repository's own blobs; the image sharing a layer still pulls", async () => {
    const { url } = await start(backend, { BERTH_GC_DELAY: "0s" });
    const shared = randomBytes(900);
    const gone = await pushKnownImage(url, "gone/app", "v1", { layers: [shared, randomBytes(333)] });
    const kept = await pushKnownImage(url, "kept/app", "v1", { layers: [shared] });
    expectStatus(await api(url, "/api/v1/repositories/gone/app", { method: "DELETE" }), 202);
    const report = JSON.parse((await call(url, "/api/v1/gc", { method: "POST" })).text) as { blobs_deleted: number; bytes_freed: number };
    expect(report.blobs_deleted).toBe(3);
    expect(report.bytes_freed).toBe(gone.total - shared.byteLength);
    for (const blob of [kept.config, ...kept.layers]) expect(await blobExists(url, "kept/app", blob.digest)).toBe(200);
    expectStatus(await getManifest(url, "kept/app", "v1"), 200);
  });

  test("DELETE is refused with storage.delete = false, and a bad name gets NAME_INVALID", async () => {
    const { url } = await start(backend, { BERTH_STORAGE_DELETE: "false" });
    await pushKnownImage(url, "team/app", "v1", { layers: [randomBytes(10)] });
    expectError(await call(url, "/api/v1/repositories/team/app", { method: "DELETE" }), 405, "UNSUPPORTED");
    expect(names((await api(url, "/api/v1/repositories")).json, "repositories")).toEqual(["team/app"]);
    expectError(await call(url, "/api/v1/repositories/Team", { method: "DELETE" }), 400, "NAME_INVALID");
  });
});
