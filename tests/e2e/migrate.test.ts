/**
 * `berth migrate` with the compiled binary: a Berth on the filesystem driver and SQLite, with
 * images (one with a layer large enough to be streamed), a referrer and a robot, moved to a
 * Ceph RGW bucket and a PostgreSQL database; Berth started on the target serves every image
 * byte for byte, the same tags, catalog and referrers, and lets the robot in; fsck finds the
 * target clean. A second run skips what is copied and refuses the non-empty database; a
 * corrupt blob in the source fails the run and never reaches the bucket; a running server on
 * the source is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { occupiedTables } from "../../src/migrate/metadata-copy.ts";
import { S3Driver } from "../../src/storage/s3/driver.ts";
import { basicHeader, writeHtpasswd } from "../helpers/auth.ts";
import { CEPH_ACCESS_KEY, CEPH_REGION, CEPH_SECRET_KEY, type CephCluster, cephAvailable, startCeph } from "../helpers/ceph.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { RunningServers } from "../helpers/process.ts";
import { call, imageManifestJson, MT, pushArtifact, pushBlob, pushImage, putManifest, randomBytes, serialize, sha256, hexOf, expectStatus } from "../helpers/oci.ts";
import { removeDir, runBerth, startBerth, tempDir, withServerLog } from "../helpers/server.ts";

const available = cephAvailable();
/** the credentials reach the target's s3 driver through the usual AWS variables (the file is read without BERTH_*) */
const AWS = { AWS_ACCESS_KEY_ID: CEPH_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: CEPH_SECRET_KEY };

interface SourceImage {
  repo: string;
  tag: string;
  manifest: Uint8Array;
  mediaType: string;
  blobs: string[];
}

describe.skipIf(!available)("berth migrate: filesystem + SQLite to Ceph RGW + PostgreSQL", () => {
  let ceph: CephCluster | null = null;
  const servers = new RunningServers();
  const databases: TestDatabase[] = [];
  const dir = tempDir("berth-migrate-e2e-");
  const sourceRoot = join(dir, "source");
  const sourceEnv = { BERTH_STORAGE_ROOT: sourceRoot };
  const images: SourceImage[] = [];
  let referrersOfV1 = "";
  let catalog = "";
  let robotSecret = "";

  beforeAll(async () => {
    ceph = await startCeph();
    mkdirSync(sourceRoot);
    await writeHtpasswd(join(dir, "htpasswd"), [{ name: "root", password: "root-pass-1", algorithm: "bcrypt" }]);
  }, 180_000);
  afterAll(async () => {
    await servers.stopAll();
    for (const database of databases) await database.drop();
    await ceph?.stop();
    removeDir(dir);
  }, 120_000);

  function cluster(): CephCluster {
    if (!ceph) throw new Error("Ceph did not start");
    return ceph;
  }

  /** A target configuration: a new bucket and database, its local state in its own directory. */
  async function newTarget(name: string): Promise<{ file: string; bucket: string; state: string; database: TestDatabase }> {
    const bucket = await cluster().createBucket();
    const database = await createTestDatabase("berth_migrate_e2e");
    databases.push(database);
    const state = join(dir, `${name}-state`);
    mkdirSync(state);
    const file = join(dir, `${name}.toml`);
    writeFileSync(
      file,
      [
        "[storage]",
        'driver = "s3"',
        `root = "${state}"`,
        "[storage.s3]",
        `bucket = "${bucket}"`,
        `endpoint = "${cluster().endpoint}"`,
        `region = "${CEPH_REGION}"`,
        "force_path_style = true",
        "[metadata]",
        `url = "${database.url}"`,
        "[auth]",
        'htpasswd = "htpasswd"',
        'mode = "basic"',
        "",
      ].join("\n"),
    );
    return { file, bucket, state, database };
  }

  async function objectsIn(bucket: string): Promise<string[]> {
    const driver = new S3Driver(cluster().settings(bucket));
    const found: string[] = [];
    for await (const entry of driver.walk("")) found.push(entry.path);
    return found.sort();
  }

  function migrate(args: string[]) {
    return runBerth(["migrate", ...args], { cwd: dir, env: { ...sourceEnv, ...AWS }, timeoutMs: 120_000 });
  }

  function blobPath(digest: string): string {
    const hex = hexOf(digest);
    return join(sourceRoot, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
  }

  test("the source: images pushed over HTTP; migrate is refused while it serves", withServerLog(() => servers.list(), async () => {
      const source = await servers.started(startBerth({ root: sourceRoot }));
      for (const [repo, tag] of [["team/app", "v1"], ["team/app", "v2"], ["base", "latest"]] as const) {
        const image = await pushImage(source.url, repo, { tag, layerCount: 2 });
        images.push({ repo, tag, manifest: image.bytes, mediaType: image.mediaType, blobs: [image.config.digest, ...image.layers.map((l) => l.digest)] });
      }
      // a layer above the size migrate reads whole: streamed through the s3 writer, verified on the way
      const config = await pushBlob(source.url, "big/app", new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux" })));
      const layer = await pushBlob(source.url, "big/app", randomBytes(6 * 1024 * 1024 + 11));
      const manifest = serialize(imageManifestJson({ mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size }, layers: [{ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size }] }));
      expectStatus(await putManifest(source.url, "big/app", "v1", manifest, MT.ociManifest), 201);
      images.push({ repo: "big/app", tag: "v1", manifest, mediaType: MT.ociManifest, blobs: [config.digest, layer.digest] });
      const subject = images[0] as SourceImage;
      await pushArtifact(source.url, "team/app", { subject: { mediaType: subject.mediaType, digest: sha256(subject.manifest), size: subject.manifest.byteLength }, artifactType: "application/vnd.example.sbom" });
      referrersOfV1 = (await call(source.url, `/v2/team/app/referrers/${sha256(subject.manifest)}`)).text;
      catalog = (await call(source.url, "/v2/_catalog")).text;
      expect(JSON.parse(referrersOfV1).manifests).toHaveLength(1);

      const target = await newTarget("refused");
      const refused = await migrate(["--to", target.file]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`runs on the source storage root ${sourceRoot}: stop it first`);
      expect(await objectsIn(target.bucket)).toEqual([]);
      await servers.stopped(source);
    }), 180_000);

  test("after the copy, Berth on the bucket and PostgreSQL serves every image, tag, referrer and the robot", withServerLog(() => servers.list(), async () => {
      // the robot is made while no server runs (in process): it lives in the index only
      const made = await runBerth(["robot", "create", "ci", "--repositories", "**", "--actions", "pull"], { cwd: dir, env: sourceEnv });
      expect(made.code).toBe(0);
      robotSecret = made.stdout.trim();
      expect(robotSecret).toMatch(/^berth_[A-Za-z0-9_-]{43}$/);
      const target = await newTarget("main");

      const dry = await migrate(["--to", target.file, "--dry-run"]);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`would copy ${blobPath(images[0]?.blobs[0] ?? "").slice(sourceRoot.length + 1)}`);
      expect(dry.stdout).toMatch(/metadata: would copy .*robots 1/);
      expect(await objectsIn(target.bucket)).toEqual([]);

      const run = await migrate(["--to", target.file]);
      expect(run.code).toBe(0);
      const copied = /storage: copied (\d+) objects \((\d+) bytes\), skipped 0 already at the target/.exec(run.stdout);
      expect(copied).not.toBeNull();
      expect(run.stdout).toMatch(/metadata: copied .*manifests 5,.*robots 1,/);
      expect(run.stdout).toContain("berth/plugins");
      const { username, host, pathname } = new URL(target.database.url);
      expect(run.stdout).toContain(`metadata PostgreSQL postgres://${username}:<redacted>@${host}${pathname}`);
      const objects = await objectsIn(target.bucket);
      expect(objects.length).toBe(Number(copied?.[1]));
      expect(objects.some((path) => path.startsWith("berth/referrers/team/app/"))).toBe(true);
      expect(objects.some((path) => path.startsWith("berth/") && !path.startsWith("berth/referrers/"))).toBe(false); // no lock, index or plugin state

      const served = await servers.started(startBerth({ root: target.state, args: ["serve", "--config", target.file], env: AWS }));
      const robot = { headers: { Authorization: basicHeader("robot$ci", robotSecret) } };
      expect((await call(served.url, "/v2/", robot)).status).toBe(200);
      expect((await call(served.url, "/v2/", { headers: { Authorization: basicHeader("robot$ci", `${robotSecret}x`) } })).status).toBe(401);
      for (const image of images) {
        const got = await call(served.url, `/v2/${image.repo}/manifests/${image.tag}`, { ...robot, headers: { ...robot.headers, Accept: image.mediaType } });
        expect(got.status).toBe(200);
        expect(sha256(got.body)).toBe(sha256(image.manifest));
        for (const digest of image.blobs) {
          const blob = await call(served.url, `/v2/${image.repo}/blobs/${digest}`, robot);
          expect(blob.status).toBe(200);
          expect(sha256(blob.body)).toBe(digest);
        }
      }
      for (const repo of ["team/app", "base", "big/app"]) {
        const here = JSON.parse((await call(served.url, `/v2/${repo}/tags/list`, robot)).text);
        expect(here.tags.sort()).toEqual(images.filter((i) => i.repo === repo).map((i) => i.tag).sort());
      }
      expect(JSON.parse((await call(served.url, "/v2/_catalog", robot)).text)).toEqual(JSON.parse(catalog));
      const subject = images[0] as SourceImage;
      expect(JSON.parse((await call(served.url, `/v2/team/app/referrers/${sha256(subject.manifest)}`, robot)).text)).toEqual(JSON.parse(referrersOfV1));
      await servers.stopped(served);

      const fsck = await runBerth(["fsck", "--config", target.file], { cwd: dir, env: { BERTH_STORAGE_ROOT: target.state, ...AWS }, timeoutMs: 120_000 });
      expect(fsck.stdout + fsck.stderr).toContain("fsck: clean");
      expect(fsck.code).toBe(0);

      // again: the database is refused before any byte moves; the storage alone skips everything
      const again = await migrate(["--to", target.file]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain("the target metadata database is not empty");
      expect(again.stderr).toContain("robots: 1 rows");
      const storageAgain = await migrate(["--to", target.file, "--storage-only"]);
      expect(storageAgain.code).toBe(0);
      expect(storageAgain.stdout).toContain(`storage: copied 0 objects (0 bytes), skipped ${copied?.[1]} already at the target`);
    }), 300_000);

  test("a corrupt blob in the source fails the run, names the blob and never reaches the bucket", withServerLog(() => servers.list(), async () => {
      const target = await newTarget("corrupt");
      const layer = (images[1] as SourceImage).blobs[1] as string;
      const path = blobPath(layer);
      const bytes = readFileSync(path);
      bytes[0] = (bytes[0] as number) ^ 0xff; // same size, other content
      writeFileSync(path, bytes);
      const run = await migrate(["--to", target.file]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`docker/registry/v2/blobs/sha256/${hexOf(layer).slice(0, 2)}/${hexOf(layer)}/data: content hashes to sha256:${sha256(bytes).slice("sha256:".length)}, not ${layer}`);
      expect(run.stderr).toContain("the index was not copied");
      const objects = await objectsIn(target.bucket);
      expect(objects.some((object) => object.includes(hexOf(layer)) && object.includes("/blobs/"))).toBe(false);
      expect(objects.length).toBeGreaterThan(0); // the rest was copied: a run after the repair resumes
      const database = new SQL(target.database.url, { max: 1 });
      try {
        expect(await occupiedTables(database)).toEqual([]); // nothing of the index in the target database
      } finally {
        await database.close();
      }
    }), 180_000);
});
