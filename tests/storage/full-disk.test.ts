/**
 * A full disk and a read-only one, on a small ext4 filesystem the test makes and loop-mounts
 * itself (root only): writes answer 507 (full) or 503 (read-only) with the spec's envelope and
 * leave nothing behind, reads keep working, /healthz says unhealthy, and writes work again
 * once space is freed, without a restart.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import {
  bytesEqual,
  call,
  concat,
  expectStatus,
  localUrl,
  MT,
  parseErrors,
  patchChunk,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  serialize,
  imageManifestJson,
  sha256,
  show,
  startUpload,
  listTree,
  waitFor,
  withQuery,
  type PushedBlob,
  type PushedImage,
  type Resp,
} from "../helpers/oci.ts";
import { removeDir, startBerth, tempDir, testWithServerLog, type BerthProcess } from "../helpers/server.ts";

/** Why the loop-mounted filesystem cannot be made here, or null when it can. */
function loopUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root to mount a loop device";
  for (const tool of ["mkfs.ext4", "losetup", "mount", "umount"]) {
    if (Bun.which(tool) === null) return `${tool} is not installed (e2fsprogs, mount)`;
  }
  const free = Bun.spawnSync(["losetup", "-f"]);
  if (free.exitCode !== 0) return `no free loop device: losetup -f said ${free.stderr.toString().trim()}`;
  return null;
}

function run(command: string[]): void {
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed (${result.exitCode}): ${result.stderr.toString().trim()}`);
}

const unavailable = loopUnavailable();
if (unavailable !== null) console.warn(`full-disk tests skipped: ${unavailable}`);

let work = "";
let mountPoint = "";
let mounted = false;
// the index's SQLite file stays open for writing: it must not live on the disk the tests remount read-only
const indexDir = tempDir("berth-full-disk-index-");
afterAll(() => removeDir(indexDir));
let berth: BerthProcess | undefined;
const test = testWithServerLog(() => [berth]);

/** what was stored before the disk filled up */
let image: PushedImage;
let shared: PushedBlob;
let chunked: URL;
const firstChunk = randomBytes(1024);
const secondChunk = randomBytes(64 * 1024);
const monolithic = randomBytes(64 * 1024);
let pending: { bytes: Uint8Array; digest: string };

function server(): BerthProcess {
  if (!berth) throw new Error("Berth is not running");
  return berth;
}

function root(): string {
  return join(mountPoint, "root");
}

function fillPath(): string {
  return join(mountPoint, "fill");
}

/**
 * Writes into one file until the filesystem refuses, big writes first, then small ones; again
 * after an fsync, because delayed allocation reserves more than it finally uses (bounded).
 */
function fillDisk(): void {
  const fd = openSync(fillPath(), "a");
  try {
    for (let pass = 0; pass < 10; pass++) {
      let written = 0;
      for (const size of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
        const block = new Uint8Array(size);
        for (let i = 0; i < 64 * 1024; i++) {
          try {
            written += writeSync(fd, block);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
            break;
          }
        }
      }
      try {
        fsyncSync(fd);
      } catch {
        // ENOSPC from writeback: the next pass finds out what is left
      }
      if (written === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

/** Files whose name marks an unfinished write. */
function leftovers(): string[] {
  return listTree(root()).filter((path) => /\.tmp-\d+-\d+$|\.tmp$/.test(path));
}

function uploadSessions(repo: string): string[] {
  const dir = join(root(), "docker/registry/v2/repositories", repo, "_uploads");
  return existsSync(dir) ? readdirSync(dir) : [];
}

function expectCondition(res: Resp, status: number, message: string): void {
  expect(res.status, show(res)).toBe(status);
  const errors = parseErrors(res);
  expect(errors[0]?.code, show(res)).toBe("UNKNOWN");
  expect(errors[0]?.message, show(res)).toBe(message);
}

async function health(): Promise<{ status: number; body: string }> {
  const res = await call(server().url, "/healthz");
  return { status: res.status, body: res.text };
}

/** the manifest PUT and the mount that must fail while the disk is full, and work after */
const newManifest = () =>
  serialize(
    imageManifestJson({
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: image.config.digest, size: image.config.size },
      layers: [{ mediaType: MT.ociLayer, digest: shared.digest, size: shared.size }],
    }),
  );
const putNewManifest = () => putManifest(server().url, "full/app", "v2", newManifest(), MT.ociManifest);
const mount = () => call(server().url, `/v2/full/mounted/blobs/uploads/?mount=${shared.digest}&from=full/app`, { method: "POST" });
const postMonolithic = () =>
  call(server().url, `/v2/full/mono/blobs/uploads/?digest=${sha256(monolithic)}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: monolithic,
  });
const patchSecond = () => patchChunk(chunked, secondChunk, `1024-${1024 + secondChunk.byteLength - 1}`);

describe.skipIf(unavailable !== null)("a full or read-only disk", () => {
  beforeAll(async () => {
    work = tempDir("berth-full-disk-");
    mountPoint = join(work, "mnt");
    mkdirSync(mountPoint);
    const imagePath = join(work, "fs.img");
    run(["truncate", "-s", "24M", imagePath]);
    run(["mkfs.ext4", "-q", "-m", "0", imagePath]); // no blocks reserved for root: full is full
    run(["mount", "-o", "loop", imagePath, mountPoint]);
    mounted = true;
    mkdirSync(root());
    berth = await startBerth({ root: root(), env: { BERTH_METADATA_URL: `sqlite:${indexDir}/metadata.db` } });
    image = await pushImage(server().url, "full/app", { tag: "v1" });
    shared = await pushBlob(server().url, "full/app", randomBytes(4096));
    const { url } = await startUpload(server().url, "full/chunked");
    const first = await patchChunk(url, firstChunk, "0-1023");
    expectStatus(first, 202);
    chunked = localUrl(server().url, first.headers.get("location"));
    const bytes = concat(firstChunk, secondChunk);
    pending = { bytes, digest: sha256(bytes) };
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
    if (mounted) {
      // a lazy unmount when something still holds it: the image file goes with the directory
      const result = Bun.spawnSync(["umount", mountPoint]);
      if (result.exitCode !== 0) Bun.spawnSync(["umount", "-l", mountPoint]);
    }
    if (work !== "") removeDir(work);
  });

  test("writes on a full disk answer 507 storage is full, leave nothing behind, and log one line each", async () => {
    const errorsBefore = server().output().split("\n").filter((line) => line.includes(" ERROR ")).length;
    // leave room for part of the next chunk only: it is written in part, then refused
    const spacer = join(mountPoint, "spacer");
    writeFileSync(spacer, new Uint8Array(secondChunk.byteLength / 2));
    fillDisk();
    rmSync(spacer);
    run(["sync", "-f", mountPoint]); // freed blocks are reusable once the journal commits

    // a chunk of a chunked upload: refused whole, what was written of it is dropped
    expectCondition(await patchSecond(), 507, "storage is full");
    const status = await call(server().url, chunked.toString());
    expectStatus(status, 204);
    expect(status.headers.get("range"), show(status)).toBe("0-1023");
    fillDisk(); // what the chunk gave back, too

    // a blob in one request: no session is left behind
    expectCondition(await postMonolithic(), 507, "storage is full");
    expect(uploadSessions("full/mono")).toEqual([]);

    expectCondition(await putNewManifest(), 507, "storage is full");
    expectCondition(await mount(), 507, "storage is full");

    // the refused manifest left no tag behind
    expectStatus(await call(server().url, "/v2/full/app/manifests/v2", { method: "HEAD" }), 404);

    const errorLines = server().output().split("\n").filter((line) => line.includes(" ERROR ")).slice(errorsBefore);
    expect(errorLines, errorLines.join("\n")).toHaveLength(4);
    for (const line of errorLines) expect(line).toContain("storage is full");
    expect(leftovers()).toEqual([]);
  });

  test("reads keep working on a full disk, and /healthz says it is not writable", async () => {
    const manifest = await call(server().url, "/v2/full/app/manifests/v1", { headers: { Accept: MT.ociManifest } });
    expectStatus(manifest, 200);
    expect(bytesEqual(manifest.body, image.bytes)).toBe(true);
    const blob = await call(server().url, `/v2/full/app/blobs/${shared.digest}`);
    expectStatus(blob, 200);
    expect(sha256(blob.body)).toBe(shared.digest);
    const tags = await call(server().url, "/v2/full/app/tags/list");
    expectStatus(tags, 200);
    expect(JSON.parse(tags.text)).toEqual({ name: "full/app", tags: ["v1"] });
    const catalog = await call(server().url, "/v2/_catalog");
    expectStatus(catalog, 200);
    expect(JSON.parse(catalog.text).repositories).toContain("full/app");

    const sick = await health();
    expect(sick.status, sick.body).toBe(503);
    const body = JSON.parse(sick.body);
    expect(body.status).toBe("unhealthy");
    expect(body.checks.storage_root).toBe("ok");
    expect(body.checks.storage_writable).toContain("storage is full");
  });

  test("once space is freed, the same writes work again without a restart", async () => {
    rmSync(fillPath());
    run(["sync", "-f", mountPoint]); // freed blocks are reusable once the journal commits
    const healthy = await waitFor(async () => (await health()).status === 200, 10_000, 100);
    expect(healthy, (await health()).body).toBe(true);

    // the refused chunk is resent as it was, and the upload completes
    expectStatus(await patchSecond(), 202);
    const done = await call(server().url, withQuery(chunked, { digest: pending.digest }).toString(), { method: "PUT" });
    expectStatus(done, 201);
    const blob = await call(server().url, `/v2/full/chunked/blobs/${pending.digest}`);
    expect(bytesEqual(blob.body, pending.bytes), "the chunked blob differs from what was sent").toBe(true);

    expectStatus(await postMonolithic(), 201);
    expectStatus(await putNewManifest(), 201);
    expectStatus(await mount(), 201);
    expect(uploadSessions("full/chunked")).toEqual([]);
    expect(uploadSessions("full/mono")).toEqual([]);
    expect(leftovers()).toEqual([]);
  });

  test("a read-only disk answers 503 for writes, reads still work, and writes resume when it is writable again", async () => {
    run(["mount", "-o", "remount,ro", mountPoint]);
    try {
      expectCondition(await call(server().url, "/v2/full/ro/blobs/uploads/", { method: "POST" }), 503, "storage is read-only");
      const oneRequest = `/v2/full/ro/blobs/uploads/?digest=${sha256(monolithic)}`;
      expectCondition(await call(server().url, oneRequest, { method: "POST", body: monolithic }), 503, "storage is read-only");
      const tagged = await putManifest(server().url, "full/app", "ro", newManifest(), MT.ociManifest);
      expectCondition(tagged, 503, "storage is read-only");
      expectStatus(await call(server().url, "/v2/full/app/manifests/v1", { headers: { Accept: MT.ociManifest } }), 200);
      expectStatus(await call(server().url, `/v2/full/app/blobs/${shared.digest}`), 200);
      const sick = await health();
      expect(sick.status, sick.body).toBe(503);
      expect(JSON.parse(sick.body).checks.storage_writable).toContain("storage is read-only");
    } finally {
      run(["mount", "-o", "remount,rw", mountPoint]);
    }
    expectStatus(await call(server().url, "/healthz"), 200);
    expectStatus(await putManifest(server().url, "full/app", "ro", newManifest(), MT.ociManifest), 201);
  });

  test("Berth starts on a read-only root and serves pulls from it", async () => {
    await server().stop();
    berth = undefined;
    run(["mount", "-o", "remount,ro", mountPoint]);
    try {
      berth = await startBerth({ root: root(), env: { BERTH_METADATA_URL: `sqlite:${indexDir}/metadata.db` } });
      const manifest = await call(server().url, "/v2/full/app/manifests/v1", { headers: { Accept: MT.ociManifest } });
      expectStatus(manifest, 200);
      expect(bytesEqual(manifest.body, image.bytes)).toBe(true);
      expectStatus(await call(server().url, `/v2/full/app/blobs/${shared.digest}`), 200);
      expectStatus(await call(server().url, "/healthz"), 503);
      expectCondition(await call(server().url, "/v2/full/ro/blobs/uploads/", { method: "POST" }), 503, "storage is read-only");
    } finally {
      await berth?.stop();
      berth = undefined;
      run(["mount", "-o", "remount,rw", mountPoint]);
    }
  });
});
