/**
 * The maintenance commands against the compiled binary: `berth index rebuild` (from a tree
 * Distribution wrote; after kill -9 part-way), `berth fsck [--repair]` (clean; a corrupt blob
 * and a tag written behind Berth's back; beside a running server) and `berth repo delete`,
 * on SQLite and, when the tests' PostgreSQL runs, on PostgreSQL.
 */
import { afterAll, describe, expect } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { startDistribution } from "../helpers/distribution.ts";
import { call, getManifest, pushImage, sha256, utf8 } from "../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type MetadataBackend } from "../helpers/postgres.ts";
import { RunningServers } from "../helpers/process.ts";
import { berthCommand, berthEnv, removeDir, runBerth, startBerth, tempDir, testWithServerLog } from "../helpers/server.ts";

const V2 = "docker/registry/v2";
const servers = new RunningServers();
const test = testWithServerLog(() => servers.list());
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  await servers.stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh storage root and, on PostgreSQL, a database of its own; removed after the file. */
async function storage(backend: MetadataBackend): Promise<{ root: string; env: Record<string, string> }> {
  const root = tempDir("berth-fsck-");
  cleanups.push(() => removeDir(root));
  const env: Record<string, string> = { BERTH_STORAGE_ROOT: root };
  if (backend === "postgres") {
    const db = await createTestDatabase("berth_fsck");
    cleanups.push(() => db.drop());
    env.BERTH_METADATA_URL = db.url;
  }
  return { root, env };
}

async function catalog(base: string): Promise<string[]> {
  const res = await call(base, "/v2/_catalog?n=1000");
  expect(res.status).toBe(200);
  return (JSON.parse(new TextDecoder().decode(res.body)) as { repositories: string[] }).repositories;
}

async function tags(base: string, repo: string): Promise<string[]> {
  const res = await call(base, `/v2/${repo}/tags/list`);
  expect(res.status).toBe(200);
  return (JSON.parse(new TextDecoder().decode(res.body)) as { tags: string[] }).tags.sort();
}

function put(root: string, path: string, content: string | Uint8Array): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

/** Writes Distribution's layout directly: `count` repositories, each with one tagged image sharing one layer. */
function writeTree(root: string, count: number): void {
  const blob = (bytes: Uint8Array) => {
    const digest = sha256(bytes);
    const hex = digest.slice(7);
    put(root, `${V2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, bytes);
    return { digest, size: bytes.byteLength };
  };
  const layer = blob(utf8("a shared layer"));
  for (let i = 0; i < count; i++) {
    const name = `bulk/repo-${i}`;
    const config = blob(utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, n: i })));
    const manifest = blob(
      utf8(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        }),
      ),
    );
    const repo = `${V2}/repositories/${name}`;
    for (const d of [config.digest, layer.digest]) put(root, `${repo}/_layers/sha256/${d.slice(7)}/link`, d);
    put(root, `${repo}/_manifests/revisions/sha256/${manifest.digest.slice(7)}/link`, manifest.digest);
    put(root, `${repo}/_manifests/tags/v1/current/link`, manifest.digest);
    put(root, `${repo}/_manifests/tags/v1/index/sha256/${manifest.digest.slice(7)}/link`, manifest.digest);
  }
}

describe.each(metadataBackends())("maintenance commands (%s)", (backend) => {
  test("index rebuild indexes a tree Distribution wrote; Berth then lists it", async () => {
    const { root, env } = await storage(backend);
    const distribution = await servers.started(startDistribution({ root }));
    await pushImage(distribution.url, "library/alpine", { tag: "3.20" });
    await pushImage(distribution.url, "library/alpine", { tag: "latest" });
    await pushImage(distribution.url, "team/app", { tag: "v1" });
    await servers.stopped(distribution);

    const rebuilt = await runBerth(["index", "rebuild"], { env });
    expect(rebuilt.stderr).toContain("index rebuild: done");
    expect(rebuilt.stdout).toContain("2 repositories, 3 manifests");
    expect(rebuilt.code).toBe(0);

    const berth = await servers.started(startBerth({ root, env }));
    expect(await catalog(berth.url)).toEqual(["library/alpine", "team/app"]);
    expect(await tags(berth.url, "library/alpine")).toEqual(["3.20", "latest"]);
    expect(berth.output()).not.toContain("metadata index built from the storage"); // it was built already
    const fsck = await runBerth(["fsck"], { env });
    expect(fsck.stdout).toContain("fsck: clean");
    expect(fsck.code).toBe(0);
    await servers.stopped(berth);
  }, 120_000);

  test("a rebuild killed with kill -9 part-way completes when run again, and the index is right", async () => {
    const { root, env } = await storage(backend);
    writeTree(root, 200);
    const proc = Bun.spawn([...berthCommand(), "index", "rebuild"], { cwd: root, env: berthEnv(env), stdout: "pipe", stderr: "pipe" });
    const reader = proc.stderr.getReader();
    await Promise.race([reader.read(), Bun.sleep(10_000)]); // the first progress line: the rebuild is under way
    await Bun.sleep(Math.floor(Math.random() * 100)); // somewhere in the repositories (200 transactions)
    proc.kill("SIGKILL");
    await proc.exited;
    expect(await new Response(proc.stdout).text()).not.toContain("index rebuilt"); // it was killed part-way

    const again = await runBerth(["index", "rebuild"], { env, timeoutMs: 60_000 });
    expect(again.stdout).toContain("200 repositories, 200 manifests");
    expect(again.code).toBe(0);
    const fsck = await runBerth(["fsck"], { env, timeoutMs: 60_000 });
    expect(fsck.stdout).toContain("fsck: clean");
    const berth = await servers.started(startBerth({ root, env }));
    const names = await catalog(berth.url);
    expect(names.length).toBe(200);
    expect(await tags(berth.url, "bulk/repo-199")).toEqual(["v1"]);
    await servers.stopped(berth);
  }, 120_000);

  test("fsck finds a corrupt blob and a tag written behind Berth's back; --repair fixes the index, not the data", async () => {
    const { root, env } = await storage(backend);
    const berth = await servers.started(startBerth({ root, env }));
    const image = await pushImage(berth.url, "shop/web", { tag: "v1" });
    const clean = await runBerth(["fsck"], { env });
    expect(clean.stdout).toContain("fsck: clean"); // beside the running server
    expect(clean.code).toBe(0);

    const layer = image.layers[0]!;
    const hex = layer.digest.slice(7);
    put(root, `${V2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, new Uint8Array(layer.size)); // same size, other bytes
    put(root, `${V2}/repositories/shop/web/_manifests/tags/sneaky/current/link`, image.digest);
    const found = await runBerth(["fsck"], { env });
    expect(found.stdout).toContain(`blob ${layer.digest}: its data hashes to`);
    expect(found.stdout).toContain("tag sneaky");
    expect(found.code).toBe(1);
    await servers.stopped(berth); // --repair beside a server: tests/cli/admin-socket.test.ts

    const repaired = await runBerth(["fsck", "--repair"], { env });
    expect(repaired.stdout).toContain("repaired 1 difference");
    expect(repaired.stdout).toContain(`shop/web@${image.digest}`); // who uses the corrupt blob
    expect(repaired.code).toBe(1); // the corrupt data stays
    const after = await runBerth(["fsck"], { env });
    expect(after.stdout).not.toContain("tag sneaky");
    expect(after.stdout).toContain(`blob ${layer.digest}: its data hashes to`);
    expect(after.code).toBe(1);
  }, 120_000);

  test("repo delete removes a repository from the catalog and the tree, not one nested below it", async () => {
    const { root, env } = await storage(backend);
    let berth = await servers.started(startBerth({ root, env }));
    await pushImage(berth.url, "team", { tag: "v1" });
    const nested = await pushImage(berth.url, "team/tool", { tag: "v1" });
    await servers.stopped(berth); // with the server stopped: this process deletes (beside one, the server does)

    const deleted = await runBerth(["repo", "delete", "team"], { env });
    expect(deleted.stdout).toContain("deleted repository team");
    expect(deleted.code).toBe(0);
    const left = readdirSync(join(root, `${V2}/repositories/team`));
    expect(left).toEqual(["tool"]);
    expect((await runBerth(["repo", "delete", "team"], { env })).stderr).toContain("no repository team");

    berth = await servers.started(startBerth({ root, env }));
    expect(await catalog(berth.url)).toEqual(["team/tool"]);
    expect((await call(berth.url, "/v2/team/tags/list")).status).toBe(404);
    expect((await getManifest(berth.url, "team/tool", "v1")).status).toBe(200);
    expect(existsSync(join(root, `${V2}/repositories/team/tool/_manifests/revisions/sha256/${nested.digest.slice(7)}/link`))).toBe(true);
    const fsck = await runBerth(["fsck"], { env });
    expect(fsck.stdout).toContain("fsck: clean");
    await servers.stopped(berth);
  }, 120_000);
});
