/**
 * `berth verify REPO@DIGEST|REPO:TAG`: exit code 0 only when the policy is satisfied, 1 when
 * it is not, 2 when it cannot tell; asked of the running server on its admin socket, or in
 * process when none holds the storage root.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pushImage, type PushedImage } from "../helpers/oci.ts";
import { type BerthProcess, removeDir, runBerth, tempDir, testWithServerLog } from "../helpers/server.ts";
import { makeTrust, startSigned, type Trust } from "../plugins/signing/setup.ts";
import { cosignLayer, cosignPayload, pushCosignTag } from "../plugins/signing/signatures.ts";

let dir = "";
let berth: BerthProcess | undefined;
let trust: Trust;
let signed: PushedImage;
let unsigned: PushedImage;
let other: PushedImage;
const test = testWithServerLog(() => [berth]);

beforeAll(async () => {
  dir = tempDir("berth-verify-cli-");
  trust = await makeTrust(dir);
  berth = await startSigned(dir);
  signed = await pushImage(berth.url, "prod/app", { tag: "signed" });
  await pushCosignTag(berth.url, "prod/app", signed.digest, [await cosignLayer(trust.ci, cosignPayload("r.example/prod/app", signed.digest))]);
  unsigned = await pushImage(berth.url, "prod/app", { tag: "unsigned" });
  other = await pushImage(berth.url, "open/app", { tag: "v1" });
});

afterAll(async () => {
  await berth?.stop();
  removeDir(dir);
});

const verify = (...args: string[]) =>
  runBerth(["verify", ...args, "--config", join(dir, "registry.toml")], { cwd: dir, env: { BERTH_STORAGE_ROOT: join(dir, "data"), BERTH_LOG_LEVEL: "warn" }, timeoutMs: 60_000 });

function cases(where: string) {
  test(`${where}: a signed image by tag exits 0 and names the key`, async () => {
    const result = await verify("prod/app:signed");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`prod/app@${signed.digest} (policy prod/**, enforce): satisfied: verified by key`);
    expect(result.stdout).toContain("keys/ci.pub");
  });

  test(`${where}: an unsigned image by digest exits 1`, async () => {
    const result = await verify(`prod/app@${unsigned.digest}`);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("NOT satisfied: no signature found");
  });

  test(`${where}: --json prints the API's answer`, async () => {
    const result = await verify("prod/app:signed", "--json");
    expect(result.code).toBe(0);
    const body: unknown = JSON.parse(result.stdout);
    expect(body).toMatchObject({ repository: "prod/app", digest: signed.digest, state: "verified", satisfied: true });
  });

  test(`${where}: a repository no policy covers exits 0`, async () => {
    const result = await verify(`open/app@${other.digest}`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("no policy");
  });

  test(`${where}: an unknown manifest or a malformed argument exits 2`, async () => {
    const unknown = await verify("prod/app:nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("No manifest nope in prod/app");
    const malformed = await verify("prod/app");
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("names no tag or digest");
  });
}

describe("with the server running (admin socket)", () => cases("server"));

describe("with no server (in process)", () => {
  beforeAll(async () => {
    await berth?.stop();
    berth = undefined;
  });
  cases("in process");

  test("with no [[signing.policies]] it cannot tell: exit 2", async () => {
    writeFileSync(join(dir, "plain.toml"), "[log]\nlevel = \"warn\"\n");
    const result = await runBerth(["verify", "prod/app:signed", "--config", join(dir, "plain.toml")], { cwd: dir, env: { BERTH_STORAGE_ROOT: join(dir, "data") }, timeoutMs: 60_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no [[signing.policies]] in the configuration");
  });
});
