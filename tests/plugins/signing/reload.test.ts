/**
 * Key rotation: SIGHUP reads the policies and their key files again, whether the
 * configuration changed or only a key file did; a reload that names a missing key is refused
 * and the running policies stay.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getManifest, pushImage, type PushedImage } from "../../helpers/oci.ts";
import { type BerthProcess, removeDir, tempDir, testWithServerLog, waitForOutput } from "../../helpers/server.ts";
import { makeKey, type TestKey } from "./keys.ts";
import { startSigned } from "./setup.ts";
import { cosignLayer, cosignPayload, pushCosignTag } from "./signatures.ts";

let dir = "";
let berth: BerthProcess | undefined;
let old: TestKey;
let next: TestKey;
const test = testWithServerLog(() => [berth]);

const config = (keys: string[]) => `[[signing.policies]]\nrepositories = ["prod/**"]\nkeys = ${JSON.stringify(keys)}\n`;

beforeAll(async () => {
  dir = tempDir("berth-signing-reload-");
  [old, next] = await Promise.all([makeKey(), makeKey("ed25519")]);
  writeFileSync(join(dir, "old.pub"), old.publicPem);
  writeFileSync(join(dir, "next.pub"), next.publicPem);
  berth = await startSigned(dir, config(["old.pub", "next.pub"]));
});

afterAll(async () => {
  await berth?.stop();
  removeDir(dir);
});

function server(): BerthProcess {
  if (!berth) throw new Error("beforeAll did not start Berth");
  return berth;
}

async function signedImage(repo: string, key: TestKey): Promise<PushedImage> {
  const pushed = await pushImage(server().url, repo, { tag: "v1" });
  await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(key, cosignPayload(`r.example/${repo}`, pushed.digest))]);
  return pushed;
}

/** Sends SIGHUP and waits for the `count`th reload line. */
async function reload(count: number, line = "signing policies reloaded"): Promise<void> {
  server().proc.kill("SIGHUP");
  const output = await waitForOutput(server(), (text) => text.split(line).length > count, 10_000);
  expect(output.split(line).length).toBeGreaterThan(count);
}

const statuses = async () => [(await getManifest(server().url, "prod/old", "v1")).status, (await getManifest(server().url, "prod/next", "v1")).status];

test("two trusted keys, then one removed with SIGHUP, then the key file itself replaced", async () => {
  await signedImage("prod/old", old);
  await signedImage("prod/next", next);
  expect(await statuses()).toEqual([200, 200]);

  writeFileSync(join(dir, "registry.toml"), config(["next.pub"]));
  await reload(1);
  expect(await statuses()).toEqual([403, 200]);

  // the configuration is unchanged; the key file now holds the old key
  writeFileSync(join(dir, "next.pub"), old.publicPem);
  await reload(2);
  expect(await statuses()).toEqual([200, 403]);
});

test("a reload naming a key file that does not exist is refused; the running keys stay", async () => {
  writeFileSync(join(dir, "registry.toml"), config(["missing.pub"]));
  await reload(1, "reload refused");
  expect(server().output()).toContain('signing.policies[0].keys[0]');
  expect(await statuses()).toEqual([200, 403]);
});
