/**
 * Helpers for the /api/v1 tests: images whose every byte is known (config with labels and a
 * platform, chosen layers), JSON reads of the API, and a clock tick between pushes whose
 * order a test sorts by (push times are in milliseconds); an in-process Berth per test on
 * either metadata backend.
 */
import { afterAll, afterEach } from "bun:test";
import { randomUUID } from "node:crypto";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import {
  type Bytes, call, expectStatus, imageManifestJson, MT, pushBlob, type PushedBlob, putManifest, type Resp, serialize, sha256, utf8,
} from "../helpers/oci.ts";

export interface KnownImage {
  digest: string;
  bytes: Bytes;
  config: PushedBlob;
  layers: PushedBlob[];
  /** the manifest's bytes, its config and its layers */
  total: number;
}

export interface ImageInit {
  /** the layers' bytes; each is pushed (again) into the repository */
  layers: Bytes[];
  labels?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
  created?: string;
  annotations?: Record<string, string>;
  subject?: { mediaType: string; digest: string; size: number };
  artifactType?: string;
}

/** Pushes config, layers and manifest; by `reference` (a tag, or the digest when null). */
export async function pushKnownImage(base: string, repo: string, reference: string | null, init: ImageInit): Promise<KnownImage> {
  const platform = init.platform ?? { os: "linux", architecture: "amd64" };
  const configDoc: Record<string, unknown> = { ...platform, rootfs: { type: "layers", diff_ids: [] }, nonce: randomUUID() };
  if (init.labels) configDoc.config = { Labels: init.labels };
  if (init.created) configDoc.created = init.created;
  const config = await pushBlob(base, repo, utf8(JSON.stringify(configDoc)));
  const layers: PushedBlob[] = [];
  for (const layer of init.layers) layers.push(await pushBlob(base, repo, layer));
  const doc = imageManifestJson({
    config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((layer) => ({ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size })),
    ...(init.annotations ? { annotations: init.annotations } : {}),
    ...(init.subject ? { subject: init.subject } : {}),
    ...(init.artifactType ? { artifactType: init.artifactType } : {}),
  });
  const bytes = serialize(doc);
  const digest = sha256(bytes);
  expectStatus(await putManifest(base, repo, reference ?? digest, bytes, MT.ociManifest), 201);
  const total = bytes.byteLength + config.size + layers.reduce((sum, layer) => sum + layer.size, 0);
  return { digest, bytes, config, layers, total };
}

/** GET (or another method) on the API; the body parsed as JSON when there is one. */
export async function api(base: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Resp & { json: unknown }> {
  const res = await call(base, path, init);
  let json: unknown = null;
  if (res.text !== "") {
    try {
      json = JSON.parse(res.text);
    } catch {
      json = null;
    }
  }
  return { ...res, json };
}

/** Waits until the clock has moved past the last push (bounded): push times order by milliseconds. */
export async function tick(): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < 100 && Date.now() <= now; i++) await Bun.sleep(1);
}

/** The names of a list answer's entries, in order. */
export function names(json: unknown, field: "repositories" | "tags"): string[] {
  const list = (json as Record<string, unknown> | null)?.[field];
  if (!Array.isArray(list)) throw new Error(`no ${field} list in ${JSON.stringify(json)}`);
  return list.map((entry) => String((entry as { name: unknown }).name));
}

/** Distinct bytes of a set of blobs (a digest counted once). */
export function distinctBytes(...blobs: Array<{ digest: string; size: number }>): number {
  return [...new Map(blobs.map((blob) => [blob.digest, blob.size])).values()].reduce((sum, size) => sum + size, 0);
}

export interface InProcessSuite {
  /** Starts Berth in-process on `backend` (a fresh PostgreSQL database for "postgres") and waits for its index. */
  start(backend: string, options?: { env?: Record<string, string>; root?: string }): Promise<InProcessBerth>;
}

/** Registers the hooks that stop each test's Berth and drop the file's PostgreSQL databases. */
export function inProcessSuite(): InProcessSuite {
  const databases: TestDatabase[] = [];
  let current: InProcessBerth | undefined;
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return {
    async start(backend, { env = {}, root } = {}) {
      if (backend === "postgres") {
        const database = await createTestDatabase("berth_api_v1");
        databases.push(database);
        env = { ...env, BERTH_METADATA_URL: database.url };
      }
      current = await startInProcess(root === undefined ? { env } : { env, root });
      await current.indexBuilt;
      return current;
    },
  };
}
