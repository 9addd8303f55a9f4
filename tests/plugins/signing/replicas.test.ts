/**
 * The signing plugin as two replicas sharing one PostgreSQL database: a signature pushed through
 * replica A (A hears the push, B does not) is honoured by B's enforce decision once B's cached
 * verdict has aged out (SHARED_VERDICT_MAX_AGE_MS), and the state A recorded is what B's
 * GET /api/v1/signatures answers. Alone (database null), a verdict stays until a push here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSigningPolicies } from "../../../plugins/signing/config.ts";
import { createSigningPlugin, SHARED_VERDICT_MAX_AGE_MS } from "../../../plugins/signing/index.ts";
import { HookDenial } from "../../../src/hooks/types.ts";
import { isRecord, MT, serialize, utf8 } from "../../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { bodyOf, type Instance, MemoryRegistry, startInstance } from "../replicas.ts";
import { makeKey, type TestKey } from "./keys.ts";
import { cosignLayer, cosignPayload, SIMPLE_SIGNING } from "./signatures.ts";

const REPOSITORY = "prod/app";
const keyDir = tempDir("berth-signing-replicas-");
let key: TestKey;

beforeAll(async () => {
  key = await makeKey();
  writeFileSync(join(keyDir, "ci.pub"), key.publicPem);
});
afterAll(() => removeDir(keyDir));

function plugin() {
  return createSigningPlugin(loadSigningPolicies({ policies: [{ repositories: ["prod/**"], mode: "enforce", keys: [join(keyDir, "ci.pub")] }] }));
}

/** An image manifest (one layer) in the fake registry. @returns its digest */
function pushImage(registry: MemoryRegistry, tag: string): string {
  const configBytes = utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, nonce: crypto.randomUUID() }));
  const layerBytes = utf8(crypto.randomUUID());
  const bytes = serialize({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: registry.putBlob(configBytes), size: configBytes.byteLength },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: registry.putBlob(layerBytes), size: layerBytes.byteLength }],
  });
  return registry.putManifest(REPOSITORY, bytes, MT.ociManifest, tag);
}

/** A cosign signature of `digest` under its `sha256-<hex>.sig` tag, as cosign writes it. @returns the push event's target */
async function signImage(registry: MemoryRegistry, digest: string) {
  const payload = cosignPayload(`registry.example.com/${REPOSITORY}`, digest);
  const layer = await cosignLayer(key, payload);
  const payloadDigest = registry.putBlob(payload);
  const configBytes = utf8(JSON.stringify({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [payloadDigest] } }));
  const bytes = serialize({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: registry.putBlob(configBytes), size: configBytes.byteLength },
    layers: [{ mediaType: SIMPLE_SIGNING, digest: payloadDigest, size: payload.byteLength, annotations: { "dev.cosignproject.cosign/signature": Buffer.from(layer.signature).toString("base64") } }],
  });
  const tag = `${digest.replace(":", "-")}.sig`;
  const signature = registry.putManifest(REPOSITORY, bytes, MT.ociManifest, tag);
  return { mediaType: MT.ociManifest, digest: signature, size: bytes.byteLength, length: bytes.byteLength, repository: REPOSITORY, url: "", tag };
}

/** Does the instance serve a GET of the manifest (true) or refuse it (false)? */
async function serves(instance: Instance, digest: string): Promise<boolean> {
  try {
    await instance.ask("manifest.get", { repository: REPOSITORY, digest });
    return true;
  } catch (error) {
    if (error instanceof HookDenial) return false;
    throw error;
  }
}

async function recordedState(instance: Instance, digest: string): Promise<unknown> {
  const manifests = (await bodyOf(await instance.call("GET /api/v1/signatures", `?repository=${REPOSITORY}`))).manifests;
  const entry = isRecord(manifests) ? manifests[digest] : undefined;
  return isRecord(entry) ? entry.state : undefined;
}

describe.skipIf(!metadataBackends().includes("postgres"))("signing on two replicas sharing PostgreSQL", () => {
  let db: TestDatabase;
  let registry: MemoryRegistry;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    db = await createTestDatabase("berth_signing_replicas");
    registry = new MemoryRegistry();
    a = await startInstance(plugin(), registry, "replica-a", db.url);
    b = await startInstance(plugin(), registry, "replica-b", db.url);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  test("a signature pushed through A is honoured by B within the bound; B answers the state A recorded", async () => {
    const image = pushImage(registry, "v1");
    expect(await serves(b, image)).toBe(false); // B caches "unsigned"
    expect(await recordedState(a, image)).toBe("unsigned"); // B's record, seen through A

    await a.emit("push", await signImage(registry, image)); // only A hears the push
    expect(await serves(a, image)).toBe(true);
    expect(await recordedState(b, image)).toBe("verified");

    // B decides again once its answer is older than the bound: polled, at most 10 s
    let served = false;
    for (let attempt = 0; attempt < 100 && !served; attempt++) {
      served = await serves(b, image);
      if (!served) await Bun.sleep(SHARED_VERDICT_MAX_AGE_MS / 10);
    }
    expect(served).toBe(true);
    expect(existsSync(join(b.dataDir, "state.db"))).toBe(false);
    const tables = await b.cluster.sql!`SELECT count(*)::int AS n FROM signing_verification WHERE repository = ${REPOSITORY}`;
    expect(tables[0].n).toBe(1);
  });
});

describe("signing alone (database null)", () => {
  test("a verdict stays until a push is heard here; the state is in SQLite in the plugin's directory", async () => {
    const registry = new MemoryRegistry();
    const alone = await startInstance(plugin(), registry, "alone", null);
    try {
      const image = pushImage(registry, "v1");
      expect(await serves(alone, image)).toBe(false);
      const signature = await signImage(registry, image);
      // longer than the replicas' bound: alone, nobody else pushes, the answer is kept
      await Bun.sleep(SHARED_VERDICT_MAX_AGE_MS + 500);
      expect(await serves(alone, image)).toBe(false);
      await alone.emit("push", signature);
      expect(await serves(alone, image)).toBe(true);
      expect(await recordedState(alone, image)).toBe("verified");
      expect(existsSync(join(alone.dataDir, "state.db"))).toBe(true);
    } finally {
      await alone.close();
    }
  });
});
