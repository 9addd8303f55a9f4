/**
 * The real Docker client against Berth with `prod/**` enforced: an image docker pushed, signed in
 * each format, is pulled by docker; the same image unsigned is refused with the policy's message.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { buildTestImage, docker, ensureDocker, removeImage, tagImage, type TestImage } from "../../helpers/docker.ts";
import { call } from "../../helpers/oci.ts";
import { type BerthProcess, removeDir, tempDir, testWithServerLog } from "../../helpers/server.ts";
import { makeTrust, startSigned, type Trust } from "./setup.ts";
import { cosignLayer, cosignPayload, pushBundle, pushCosignReferrer, pushCosignTag, pushNotation } from "./signatures.ts";

let dir = "";
let berth: BerthProcess | undefined;
let trust: Trust;
const test = testWithServerLog(() => [berth]);
const images: TestImage[] = [];

beforeAll(async () => {
  await ensureDocker();
  dir = tempDir("berth-signing-docker-");
  trust = await makeTrust(dir);
  berth = await startSigned(dir);
});

afterAll(async () => {
  for (const image of images) await removeImage(image.id);
  await berth?.stop();
  removeDir(dir);
});

/**
 * docker push of a new image (its own digest: docker skips the GET of a manifest whose content
 * it already has) to `repo:v1`; the local copy is removed so a pull must fetch it.
 * @returns the pushed manifest's descriptor
 */
async function pushWithDocker(repo: string): Promise<{ mediaType: string; digest: string; size: number }> {
  if (!berth) throw new Error("beforeAll did not finish");
  const image = await buildTestImage({ name: "signing-e2e" });
  images.push(image);
  const ref = `${berth.host}/${repo}:v1`;
  await tagImage(image.id, ref);
  await docker(["push", ref], { timeoutMs: 120_000 });
  await removeImage(image.id);
  const head = await call(berth.url, `/v2/${repo}/manifests/v1`, { method: "HEAD", headers: { Accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json" } });
  const digest = head.headers.get("docker-content-digest") ?? "";
  const mediaType = head.headers.get("content-type") ?? "";
  const size = Number(head.headers.get("content-length") ?? "0");
  expect(digest).toMatch(/^sha256:/);
  return { mediaType, digest, size };
}

async function pull(repo: string): Promise<{ code: number; output: string }> {
  if (!berth) throw new Error("beforeAll did not finish");
  const result = await docker(["pull", `${berth.host}/${repo}:v1`], { allowFailure: true, timeoutMs: 120_000 });
  return { code: result.exitCode, output: result.stdout + result.stderr };
}

test("docker cannot pull an unsigned image: the policy's message reaches the client", async () => {
  const pushed = await pushWithDocker("prod/docker-unsigned");
  const result = await pull("prod/docker-unsigned");
  expect(result.code).not.toBe(0);
  expect(result.output).toContain(`prod/docker-unsigned@${pushed.digest} has no valid signature from a trusted key (policy prod/**)`);
});

const formats: Array<[string, (repo: string, subject: { mediaType: string; digest: string; size: number }) => Promise<unknown>]> = [
  ["cosign (tag scheme)", async (repo, subject) => pushCosignTag(base(), repo, subject.digest, [await cosignLayer(trust.ci, cosignPayload(`${hostOf()}/${repo}:v1`, subject.digest))])],
  ["cosign (OCI 1.1 referrer)", async (repo, subject) => pushCosignReferrer(base(), repo, subject, [await cosignLayer(trust.rsa, cosignPayload(`${hostOf()}/${repo}`, subject.digest))])],
  ["sigstore bundle", (repo, subject) => pushBundle(base(), repo, subject, trust.p384)],
  ["Notation", (repo, subject) => pushNotation(base(), repo, subject, trust.notary)],
];

function base(): string {
  if (!berth) throw new Error("beforeAll did not finish");
  return berth.url;
}

function hostOf(): string {
  return berth?.host ?? "";
}

test.each(formats)("docker pulls an image signed with %s", async (name, sign) => {
  const repo = `prod/docker-${name.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "").toLowerCase()}`;
  const subject = await pushWithDocker(repo);
  expect((await pull(repo)).code).not.toBe(0);
  await sign(repo, subject);
  const result = await pull(repo);
  expect(result.output).toContain(subject.digest);
  expect(result.code).toBe(0);
});
