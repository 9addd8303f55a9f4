/**
 * Upload sessions in the metadata index (GET /api/v1/usage `uploads_in_progress`): started ones
 * counted, and each way a session ends (completed, cancelled, a wrong digest, the purge)
 * removes it; a rebuild finds the sessions the tree holds. SQLite and PostgreSQL.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rebuildIndex } from "../../src/metadata/rebuild.ts";
import { treeReader } from "../../src/registry/tree-reader.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { call, expectError, expectStatus, localUrl, randomBytes, sha256, withQuery } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";
import { api, inProcessSuite, pushKnownImage } from "./support.ts";

const { start } = inProcessSuite();
const roots: string[] = [];
afterAll(() => roots.forEach(removeDir));

async function inProgress(url: string): Promise<unknown> {
  const res = await api(url, "/api/v1/usage");
  expectStatus(res, 200);
  const json = res.json;
  return typeof json === "object" && json !== null && "uploads_in_progress" in json ? json.uploads_in_progress : undefined;
}

async function startUpload(url: string, repository: string): Promise<URL> {
  const post = await call(url, `/v2/${repository}/blobs/uploads/`, { method: "POST" });
  expectStatus(post, 202);
  return localUrl(url, post.headers.get("location"));
}

describe.each(metadataBackends())("upload sessions in the index on %s", (backend) => {
  test("each session counts until it is completed, cancelled, refused for its digest or purged", async () => {
    const { url, index } = await start(backend);
    const sessions = await Promise.all([1, 2, 3, 4].map(() => startUpload(url, "up/app")));
    expect(await inProgress(url)).toBe(4);

    const bytes = randomBytes(300);
    const [completed, cancelled, wrong, left] = sessions;
    if (!completed || !cancelled || !wrong || !left) throw new Error("four sessions expected");
    expectStatus(await call(url, withQuery(completed, { digest: sha256(bytes) }).toString(), { method: "PUT", body: bytes }), 201);
    expect(await inProgress(url)).toBe(3);

    expectStatus(await call(url, cancelled.toString(), { method: "DELETE" }), 204);
    expect(await inProgress(url)).toBe(2);

    const refused = await call(url, withQuery(wrong, { digest: sha256(randomBytes(10)) }).toString(), { method: "PUT", body: bytes });
    expectError(refused, 400, "DIGEST_INVALID");
    expect(await inProgress(url)).toBe(1);

    await index.forgetUploadsBefore(Date.now() - 60_000); // the purge's cutoff: a fresh session stays
    expect(await inProgress(url)).toBe(1);
    await index.forgetUploadsBefore(Date.now() + 1);
    expect(await inProgress(url)).toBe(0);
  });

  test("a rebuild finds the sessions the tree holds", async () => {
    const root = tempDir("berth-uploads-");
    roots.push(root);
    const { url, index } = await start(backend, { env: { BERTH_STORAGE_DRIVER: "filesystem" }, root });
    await pushKnownImage(url, "up/one", "v1", { layers: [randomBytes(100)] });
    await startUpload(url, "up/one");
    await startUpload(url, "up/one");
    await index.database.write((tx) => tx`DELETE FROM uploads`);
    expect(await inProgress(url)).toBe(0);

    await rebuildIndex(index, treeReader(new FilesystemDriver(root)), { delayMs: 0 });
    expect(await inProgress(url)).toBe(2);
  });
});
