/**
 * Helpers for the garbage-collection tests against real processes: the bytes the blob store
 * holds on disk, one GC run through the API, images built from a pool of shared layers, and a
 * complete pull (the manifest and every blob it names, each checked against its digest).
 *
 * Every network call is bounded by call()'s timeout; every loop here is bounded in count.
 */
import { expect } from "bun:test";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  ACCEPT_ALL_MANIFESTS, call, type Bytes, type Descriptor, expectStatus, hexOf, imageManifestJson, MT, pushBlob, type PushedBlob, putManifest,
  randomBytes, serialize, sha256, show, utf8,
} from "./oci.ts";
import { createTestDatabase, type MetadataBackend, type TestDatabase } from "./postgres.ts";
import { removeDir, tempDir } from "./server.ts";

export const BLOBS_DIR = "docker/registry/v2/blobs";

/** Where the filesystem driver keeps a blob's data under `root`. */
export function blobFile(root: string, digest: string): string {
  const hex = hexOf(digest);
  return join(root, BLOBS_DIR, "sha256", hex.slice(0, 2), hex, "data");
}

/** Sum of the sizes of every file under `<root>/docker/registry/v2/blobs` (bounded walk). */
export function blobStoreBytes(root: string, limit = 1_000_000): number {
  let total = 0;
  let seen = 0;
  const stack = [join(root, BLOBS_DIR)];
  while (stack.length > 0 && seen < limit) {
    const dir = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // absent, or removed while walking
    }
    for (const name of names) {
      seen++;
      const path = join(dir, name);
      try {
        const stat = lstatSync(path);
        if (stat.isDirectory()) stack.push(path);
        else total += stat.size;
      } catch {
        // removed while walking
      }
    }
  }
  return total;
}

export interface GcRunReport {
  dryRun: boolean;
  blobsDeleted: number;
  bytesFreed: number;
  manifestsDeleted: number;
  blobs: Array<{ digest: string; size: number }>;
  errors: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads POST /api/v1/gc's answer, failing on any other shape. */
export function parseGcReport(text: string): GcRunReport {
  const value: unknown = JSON.parse(text);
  if (!isRecord(value)) throw new Error(`GC report is not an object: ${text}`);
  const { dry_run: dryRun, blobs_deleted: blobsDeleted, bytes_freed: bytesFreed, manifests_deleted: manifestsDeleted, blobs, errors } = value;
  if (typeof dryRun !== "boolean" || typeof blobsDeleted !== "number" || typeof bytesFreed !== "number" || typeof manifestsDeleted !== "number") {
    throw new Error(`GC report lacks its counts: ${text}`);
  }
  if (!Array.isArray(blobs) || !Array.isArray(errors)) throw new Error(`GC report lacks its lists: ${text}`);
  const listed = blobs.map((blob: unknown) => {
    if (!isRecord(blob) || typeof blob.digest !== "string" || typeof blob.size !== "number") throw new Error(`bad blob in GC report: ${text}`);
    return { digest: blob.digest, size: blob.size };
  });
  return { dryRun, blobsDeleted, bytesFreed, manifestsDeleted, blobs: listed, errors: errors.map(String) };
}

/** One GC run now through `POST /api/v1/gc`; asserts 200. */
export async function runGc(base: string, dryRun = false): Promise<GcRunReport> {
  const res = await call(base, `/api/v1/gc${dryRun ? "?dry_run=true" : ""}`, { method: "POST", timeoutMs: 60_000 });
  expectStatus(res, 200);
  return parseGcReport(res.text);
}

/** What `GET /api/v1/gc` lists as waiting for review: each blob's digest and review time (ms since the epoch). */
export async function waitingBlobs(base: string): Promise<Map<string, number>> {
  const res = await call(base, "/api/v1/gc");
  expectStatus(res, 200);
  const value: unknown = JSON.parse(res.text);
  if (!isRecord(value) || !Array.isArray(value.waiting)) throw new Error(`GET /api/v1/gc has no waiting list: ${res.text}`);
  const waiting = new Map<string, number>();
  for (const entry of value.waiting) {
    if (!isRecord(entry) || typeof entry.digest !== "string" || typeof entry.review_at !== "string") throw new Error(`bad waiting entry: ${res.text}`);
    waiting.set(entry.digest, Date.parse(entry.review_at));
  }
  return waiting;
}

/** An image manifest's bytes and what it names. */
export interface BuiltImage {
  bytes: Bytes;
  digest: string;
  config: PushedBlob;
  layers: PushedBlob[];
}

/** A unique image config (a few hundred bytes). */
export function uniqueConfig(): PushedBlob {
  const bytes = utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, nonce: crypto.randomUUID() }));
  return { digest: sha256(bytes), size: bytes.byteLength, bytes };
}

/** Random layer bytes as a blob to push. */
export function randomLayer(size: number): PushedBlob {
  const bytes = randomBytes(size);
  return { digest: sha256(bytes), size, bytes };
}

/** The OCI image manifest naming `config` and `layers`, serialised. */
export function imageOf(config: PushedBlob, layers: PushedBlob[]): BuiltImage {
  const bytes = serialize(
    imageManifestJson({
      config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
      layers: layers.map((layer): Descriptor => ({ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size })),
    }),
  );
  return { bytes, digest: sha256(bytes), config, layers };
}

/** Pushes an image's config and layers (asserting each 201) and its manifest under `tag` (asserting 201). */
export async function pushBuiltImage(base: string, repo: string, tag: string, image: BuiltImage): Promise<void> {
  for (const blob of [image.config, ...image.layers]) await pushBlob(base, repo, blob.bytes, blob.digest);
  expectStatus(await putManifest(base, repo, tag, image.bytes, MT.ociManifest), 201);
}

/** The bytes a manifest and the blobs it names take, counting each digest once. */
export function imageBytes(image: BuiltImage): number {
  const sizes = new Map<string, number>([[image.digest, image.bytes.byteLength]]);
  for (const blob of [image.config, ...image.layers]) sizes.set(blob.digest, blob.size);
  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
}

export interface PulledImage {
  digest: string;
  manifestSize: number;
  /** the config and layers, as the manifest lists them */
  blobs: Array<{ digest: string; size: number }>;
}

/**
 * Pulls `repo:reference` completely: the manifest (its digest checked against the header, and
 * against `expected` when given) and every blob it names, each hashed and sized. Fails the test
 * on any missing or wrong byte.
 */
export async function pullComplete(base: string, repo: string, reference: string, expected?: string): Promise<PulledImage> {
  const res = await call(base, `/v2/${repo}/manifests/${reference}`, { headers: { Accept: ACCEPT_ALL_MANIFESTS } });
  expectStatus(res, 200);
  const digest = sha256(res.body);
  expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
  if (expected !== undefined) expect(digest, `${repo}:${reference}`).toBe(expected);
  const parsed: unknown = JSON.parse(res.text);
  if (!isRecord(parsed) || !isRecord(parsed.config) || !Array.isArray(parsed.layers)) throw new Error(`not an image manifest: ${show(res)}`);
  const blobs = [parsed.config, ...parsed.layers].map((entry: unknown) => {
    if (!isRecord(entry) || typeof entry.digest !== "string" || typeof entry.size !== "number") throw new Error(`bad descriptor: ${show(res)}`);
    return { digest: entry.digest, size: entry.size };
  });
  for (const blob of blobs) {
    const got = await call(base, `/v2/${repo}/blobs/${blob.digest}`);
    expect(got.status, `${repo}@${digest}: blob ${blob.digest}\n${show(got)}`).toBe(200);
    expect(sha256(got.body), `${repo}@${digest}: blob ${blob.digest} bytes`).toBe(blob.digest);
    expect(got.body.byteLength).toBe(blob.size);
  }
  return { digest, manifestSize: res.body.byteLength, blobs };
}

/** A storage root and, on PostgreSQL, a database of its own: the environment Berth and its commands share. */
export interface TestStorage {
  root: string;
  /** BERTH_STORAGE_ROOT, and BERTH_METADATA_URL on PostgreSQL */
  env: Record<string, string>;
  /** removes the root and drops the database */
  remove(): Promise<void>;
}

export async function testStorage(backend: MetadataBackend, prefix: string): Promise<TestStorage> {
  const root = tempDir(`berth-${prefix}-`);
  const env: Record<string, string> = { BERTH_STORAGE_ROOT: root };
  let database: TestDatabase | null = null;
  if (backend === "postgres") {
    try {
      database = await createTestDatabase(`berth_${prefix.replaceAll("-", "_")}`);
    } catch (error) {
      removeDir(root);
      throw error;
    }
    env.BERTH_METADATA_URL = database.url;
  }
  return {
    root,
    env,
    async remove() {
      removeDir(root);
      await database?.drop();
    },
  };
}
