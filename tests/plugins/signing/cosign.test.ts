/**
 * cosign's tag scheme (`sha256-<hex>.sig`) against a real Berth with `prod/**` enforced: a
 * valid signature by a trusted key serves the image; everything else is refused with 403
 * DENIED and the plugin's report says why.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { expectError, getManifest, pushImage, type PushedImage } from "../../helpers/oci.ts";
import { type BerthProcess, removeDir, tempDir, testWithServerLog } from "../../helpers/server.ts";
import { p1363ToDer, signRaw } from "./keys.ts";
import { makeTrust, signaturesOf, startSigned, type Trust } from "./setup.ts";
import { cosignLayer, cosignPayload, pushCosignTag } from "./signatures.ts";

let dir = "";
let berth: BerthProcess | undefined;
let trust: Trust;
const test = testWithServerLog(() => [berth]);

beforeAll(async () => {
  dir = tempDir("berth-signing-cosign-");
  trust = await makeTrust(dir);
  berth = await startSigned(dir);
});

afterAll(async () => {
  await berth?.stop();
  removeDir(dir);
});

function server(): BerthProcess {
  if (!berth) throw new Error("beforeAll did not start Berth");
  return berth;
}

async function image(repo: string): Promise<PushedImage> {
  return pushImage(server().url, repo, { tag: "v1" });
}

async function expectDenied(repo: string, pushed: PushedImage): Promise<void> {
  for (const reference of ["v1", pushed.digest]) {
    const error = expectError(await getManifest(server().url, repo, reference), 403, "DENIED");
    expect(error.message).toBe(`${repo}@${pushed.digest} has no valid signature from a trusted key (policy prod/**)`);
  }
}

test("an unsigned image is refused with the policy's message; HEAD is allowed", async () => {
  const pushed = await image("prod/unsigned");
  await expectDenied("prod/unsigned", pushed);
  expect((await getManifest(server().url, "prod/unsigned", "v1", "HEAD")).status).toBe(200);
  expect((await signaturesOf(server().url, "prod/unsigned", pushed.digest)).state).toBe("unsigned");
});

test.each([["ci"], ["p384"], ["ed"], ["rsa"]] as const)("a cosign signature by the trusted %s key serves the image by tag and digest", async (name) => {
  const repo = `prod/signed-${name}`;
  const pushed = await image(repo);
  const key = trust[name];
  await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(key, cosignPayload(`registry.example.com/${repo}:v1`, pushed.digest))]);
  expect((await getManifest(server().url, repo, "v1")).status).toBe(200);
  expect((await getManifest(server().url, repo, pushed.digest)).status).toBe(200);
  const report = await signaturesOf(server().url, repo, "v1");
  expect(report.state).toBe("verified");
  expect(report.signer).toContain(`keys/${name}.pub`);
});

test("a signature pushed after a refusal makes the image pullable at once; the signature itself is always served", async () => {
  const repo = "prod/late";
  const pushed = await image(repo);
  await expectDenied(repo, pushed);
  const signature = await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(trust.ci, cosignPayload(`host:5000/${repo}`, pushed.digest))]);
  expect((await getManifest(server().url, repo, "v1")).status).toBe(200);
  expect((await getManifest(server().url, repo, `${pushed.digest.replace(":", "-")}.sig`)).status).toBe(200);
  expect((await getManifest(server().url, repo, signature)).status).toBe(200);
});

test("a second signature appends a layer: one trusted layer is enough", async () => {
  const repo = "prod/two-layers";
  const pushed = await image(repo);
  const payload = cosignPayload(`registry.example.com/${repo}`, pushed.digest);
  await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(trust.stranger, payload), await cosignLayer(trust.ci, payload)]);
  expect((await getManifest(server().url, repo, "v1")).status).toBe(200);
  const report = await signaturesOf(server().url, repo, pushed.digest);
  expect(report.signatures.map((s) => s.verified)).toEqual([false, true]);
});

const refusals: Array<[string, string, (repo: string, pushed: PushedImage) => Promise<void>]> = [
  ["by an untrusted key", "does not verify with any trusted key", async (repo, pushed) => {
    await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(trust.stranger, cosignPayload(`r.example/${repo}`, pushed.digest))]);
  }],
  ["for another digest", "not this manifest", async (repo, pushed) => {
    const other = await pushImage(server().url, repo, { tag: "other" });
    await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(trust.ci, cosignPayload(`r.example/${repo}`, other.digest))]);
  }],
  ["for another repository", "names repository prod/elsewhere", async (repo, pushed) => {
    await pushCosignTag(server().url, repo, pushed.digest, [await cosignLayer(trust.ci, cosignPayload("r.example/prod/elsewhere:v1", pushed.digest))]);
  }],
  ["with a corrupted payload byte", "does not verify with any trusted key", async (repo, pushed) => {
    const layer = await cosignLayer(trust.ci, cosignPayload(`r.example/${repo}`, pushed.digest));
    const corrupted = new Uint8Array(layer.payload);
    const at = corrupted.length - 3;
    corrupted[at] = (corrupted[at] ?? 0) ^ 0x01;
    await pushCosignTag(server().url, repo, pushed.digest, [{ ...layer, payload: corrupted }]);
  }],
  ["with the ECDSA signature left in P1363 form (not converted to DER)", "does not verify with any trusted key", async (repo, pushed) => {
    const payload = cosignPayload(`r.example/${repo}`, pushed.digest);
    await pushCosignTag(server().url, repo, pushed.digest, [{ payload, signature: await signRaw(trust.ci, payload) }]);
  }],
  ["with a certificate from an untrusted CA", "no trusted root issued", async (repo, pushed) => {
    const payload = cosignPayload(`r.example/${repo}`, pushed.digest);
    const signature = p1363ToDer(await signRaw({ kind: "ecdsa-p256", privateKey: trust.rogue.privateKey, publicPem: "" }, payload));
    await pushCosignTag(server().url, repo, pushed.digest, [{ payload, signature, certificatePem: trust.rogue.leafPem }]);
  }],
  ["with a certificate whose identity matches no policy glob", "matches none of the policy's identities", async (repo, pushed) => {
    const payload = cosignPayload(`r.example/${repo}`, pushed.digest);
    const signature = p1363ToDer(await signRaw({ kind: "ecdsa-p256", privateKey: trust.outsider.privateKey, publicPem: "" }, payload));
    await pushCosignTag(server().url, repo, pushed.digest, [{ payload, signature, certificatePem: trust.outsider.leafPem }]);
  }],
];

test.each(refusals)("a cosign signature %s is refused", async (_case, reason, sign) => {
  const repo = `prod/refused-${Math.random().toString(36).slice(2, 8)}`;
  const pushed = await image(repo);
  await sign(repo, pushed);
  await expectDenied(repo, pushed);
  const report = await signaturesOf(server().url, repo, pushed.digest);
  expect(report.state).toBe("invalid");
  expect(report.signatures).toHaveLength(1);
  expect(report.signatures[0]?.reason).toContain(reason);
});

test("a cosign certificate signature chaining to a trusted CA with a matching identity serves the image", async () => {
  const repo = "prod/certified";
  const pushed = await image(repo);
  const payload = cosignPayload(`r.example/${repo}`, pushed.digest);
  const signature = p1363ToDer(await signRaw({ kind: "ecdsa-p256", privateKey: trust.cosigner.privateKey, publicPem: "" }, payload));
  await pushCosignTag(server().url, repo, pushed.digest, [{ payload, signature, certificatePem: trust.cosigner.leafPem }]);
  expect((await getManifest(server().url, repo, "v1")).status).toBe(200);
  expect((await signaturesOf(server().url, repo, "v1")).signer).toBe("certificate https://ci.example.com/cosigner");
});

test("a repository no policy matches is served unsigned", async () => {
  const pushed = await pushImage(server().url, "open/app", { tag: "v1" });
  expect((await getManifest(server().url, "open/app", pushed.digest)).status).toBe(200);
});
