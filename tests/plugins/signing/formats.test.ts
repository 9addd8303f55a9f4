/**
 * OCI 1.1 referrers (cosign's artifact form, sigstore bundles, Notation), image indexes, warn
 * mode and the recorded state, against a real Berth with `prod/**` enforced.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { call, expectError, getManifest, indexJson, MT, pushImage, putManifest, serialize, sha256 } from "../../helpers/oci.ts";
import { type BerthProcess, removeDir, tempDir, testWithServerLog, waitForOutput } from "../../helpers/server.ts";
import { makeTrust, signaturesOf, startSigned, type Trust } from "./setup.ts";
import { cosignLayer, cosignPayload, pushBundle, pushCosignReferrer, pushCosignTag, pushNotation } from "./signatures.ts";

let dir = "";
let berth: BerthProcess | undefined;
let trust: Trust;
const test = testWithServerLog(() => [berth]);

beforeAll(async () => {
  dir = tempDir("berth-signing-formats-");
  trust = await makeTrust(dir);
  berth = await startSigned(dir);
});

afterAll(async () => {
  await berth?.stop();
  removeDir(dir);
});

function base(): string {
  if (!berth) throw new Error("beforeAll did not start Berth");
  return berth.url;
}

async function status(repo: string, reference: string): Promise<number> {
  return (await getManifest(base(), repo, reference)).status;
}

test("cosign's OCI 1.1 referrer form verifies like the tag scheme", async () => {
  const pushed = await pushImage(base(), "prod/referred", { tag: "v1" });
  expect(await status("prod/referred", "v1")).toBe(403);
  const signature = await pushCosignReferrer(base(), "prod/referred", pushed.descriptor, [await cosignLayer(trust.ci, cosignPayload("r.example/prod/referred:v1", pushed.digest))]);
  expect(await status("prod/referred", "v1")).toBe(200);
  expect(await status("prod/referred", signature)).toBe(200); // referrers are always served
});

test("a sigstore bundle (DSSE, in-toto statement) by a trusted key verifies; one naming another digest does not", async () => {
  const good = await pushImage(base(), "prod/bundled", { tag: "good" });
  await pushBundle(base(), "prod/bundled", good.descriptor, trust.ed);
  expect(await status("prod/bundled", "good")).toBe(200);
  expect((await signaturesOf(base(), "prod/bundled", "good")).signatures[0]?.format).toBe("sigstore-bundle");

  const bad = await pushImage(base(), "prod/bundled", { tag: "bad" });
  await pushBundle(base(), "prod/bundled", bad.descriptor, trust.ci, { statementDigest: good.digest });
  expectError(await getManifest(base(), "prod/bundled", "bad"), 403, "DENIED");
  expect((await signaturesOf(base(), "prod/bundled", "bad")).signatures[0]?.reason).toContain("do not include this manifest");

  const stranger = await pushImage(base(), "prod/bundled", { tag: "stranger" });
  await pushBundle(base(), "prod/bundled", stranger.descriptor, trust.stranger);
  expect(await status("prod/bundled", "stranger")).toBe(403);
});

test("a Notation JWS signature whose x5c chains to a trusted root verifies", async () => {
  const pushed = await pushImage(base(), "prod/notary", { tag: "v1" });
  expect(await status("prod/notary", "v1")).toBe(403);
  await pushNotation(base(), "prod/notary", pushed.descriptor, trust.notary);
  expect(await status("prod/notary", "v1")).toBe(200);
  const report = await signaturesOf(base(), "prod/notary", "v1");
  expect(report.signatures[0]?.format).toBe("notation");
  expect(report.signer).toBe("certificate https://ci.example.com/notary");
});

test.each([
  ["from an untrusted CA", "rogue", undefined, "no trusted root issued"],
  ["with an identity no glob matches", "outsider", undefined, "matches none of the policy's identities"],
  ["naming another digest", "notary", "sha256:" + "0".repeat(64), "not this manifest"],
] as const)("a Notation signature %s is refused", async (_case, who, targetDigest, reason) => {
  const repo = `prod/notary-${who}-${targetDigest === undefined ? "a" : "b"}`;
  const pushed = await pushImage(base(), repo, { tag: "v1" });
  await pushNotation(base(), repo, pushed.descriptor, trust[who], targetDigest === undefined ? {} : { targetDigest });
  expectError(await getManifest(base(), repo, "v1"), 403, "DENIED");
  expect((await signaturesOf(base(), repo, "v1")).signatures[0]?.reason).toContain(reason);
});

test("an image that names a subject is still an image: unsigned, it is refused", async () => {
  const target = await pushImage(base(), "prod/dressed", { tag: "base" });
  await pushImage(base(), "prod/dressed", { tag: "v1", subject: target.descriptor, artifactType: "application/vnd.example.sbom" });
  expectError(await getManifest(base(), "prod/dressed", "v1"), 403, "DENIED");
});

test("a signed index is served, and so are its children; a child of no signed index is not", async () => {
  const repo = "prod/multi";
  const amd = await pushImage(base(), repo);
  const arm = await pushImage(base(), repo);
  const loose = await pushImage(base(), repo, { tag: "loose" });
  const index = serialize(indexJson({ manifests: [amd.descriptor, arm.descriptor].map((d, i) => ({ ...d, platform: { os: "linux", architecture: i === 0 ? "amd64" : "arm64" } })) }));
  expect((await putManifest(base(), repo, "v1", index, MT.ociIndex)).status).toBe(201);
  const indexDigest = sha256(index);
  expect(await status(repo, "v1")).toBe(403);
  expect(await status(repo, amd.digest)).toBe(403);
  await pushCosignTag(base(), repo, indexDigest, [await cosignLayer(trust.ci, cosignPayload(`r.example/${repo}:v1`, indexDigest))]);
  expect(await status(repo, "v1")).toBe(200);
  expect(await status(repo, amd.digest)).toBe(200);
  expect(await status(repo, arm.digest)).toBe(200);
  expect((await signaturesOf(base(), repo, arm.digest)).state).toBe("verified-by-index");
  expect(await status(repo, loose.digest)).toBe(403);
});

test("warn mode serves an unsigned image, logs a warning and records the state for the UI", async () => {
  const unsigned = await pushImage(base(), "warn/app", { tag: "v1" });
  const signed = await pushImage(base(), "warn/app", { tag: "v2" });
  await pushCosignTag(base(), "warn/app", signed.digest, [await cosignLayer(trust.ci, cosignPayload("r.example/warn/app", signed.digest))]);
  expect(await status("warn/app", "v1")).toBe(200);
  expect(await status("warn/app", "v2")).toBe(200);
  const output = await waitForOutput(berth ?? { output: () => "" }, `warn/app@${unsigned.digest} has no valid signature from a trusted key (policy warn/**); served (warn mode)`);
  expect(output).toContain(`warn/app@${unsigned.digest} has no valid signature`);
  const res = await call(base(), "/api/v1/signatures?repository=warn/app");
  expect(res.status).toBe(200);
  const body: unknown = JSON.parse(res.text);
  const manifests = typeof body === "object" && body !== null && "manifests" in body && typeof body.manifests === "object" && body.manifests !== null ? body.manifests : {};
  const stateOf = (digest: string) => {
    const entry: unknown = Object.entries(manifests).find(([key]) => key === digest)?.[1];
    return typeof entry === "object" && entry !== null && "state" in entry ? entry.state : undefined;
  };
  expect(stateOf(unsigned.digest)).toBe("unsigned");
  expect(stateOf(signed.digest)).toBe("verified");
});

test("the signatures route names an unknown manifest and a bad repository with the spec's codes", async () => {
  expectError(await call(base(), `/api/v1/repositories/prod/none/manifests/sha256:${"1".repeat(64)}/signatures`), 404, "MANIFEST_UNKNOWN");
  expectError(await call(base(), "/api/v1/signatures?repository=Bad..Name"), 400, "NAME_INVALID");
});
