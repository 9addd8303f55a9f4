/**
 * Tag immutability and quotas with docker push against the compiled binary: the same digest
 * again is fine, another digest or a delete is 403 DENIED naming the rule, cosign signature
 * tags stay writable; a push over a quota is refused and fits again after a delete and GC.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runGc } from "../../helpers/gc.ts";
import { buildTestImage, docker, ensureDocker, pushImage as dockerPush, removeImage, tagImage, type TestImage } from "../../helpers/docker.ts";
import { call, descriptorOf, expectError, expectStatus, imageManifestJson, MT, putManifest, pushBlob, serialize, utf8 } from "../../helpers/oci.ts";
import { type ConfiguredBerth, json, startWithConfig } from "./support.ts";

const CONFIG = `
[gc]
delay = "0s"

[[immutable]]
repositories = ["prod/**"]
tags = ["v*"]

[[quota]]
repositories = ["small/**"]
max_bytes = "1.5MiB"
`;

let server: ConfiguredBerth;
let host: string;
const images: TestImage[] = [];

beforeAll(async () => {
  await ensureDocker();
  server = await startWithConfig(CONFIG);
  host = `127.0.0.1:${server.berth.port}`;
  images.push(await buildTestImage({ name: "guard-a" }), await buildTestImage({ name: "guard-b" }));
});
afterAll(async () => {
  for (const image of images) await removeImage(image.id).catch(() => undefined);
  await server?.stop();
});

describe("tag immutability", () => {
  test("same digest again is fine; another digest, a tag delete and a manifest delete are refused", async () => {
    const [a, b] = images as [TestImage, TestImage];
    const ref = `${host}/prod/app:v1`;
    await tagImage(a.tag, ref);
    const digest = await dockerPush(ref);
    expect(await dockerPush(ref)).toBe(digest); // a CI retry
    await tagImage(b.tag, ref);
    const refused = await docker(["push", ref], { allowFailure: true, timeoutMs: 120_000 });
    expect(refused.exitCode).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toContain("immutable");
    const base = server.berth.url;
    const tagDelete = expectError(await call(base, "/v2/prod/app/manifests/v1", { method: "DELETE" }), 403, "DENIED");
    expect(tagDelete.message).toContain("immutable rule 1");
    expectError(await call(base, `/v2/prod/app/manifests/${digest}`, { method: "DELETE" }), 403, "DENIED");
    const pulled = await call(base, "/v2/prod/app/manifests/v1", { method: "HEAD", headers: { Accept: `${MT.dockerManifest}, ${MT.ociManifest}` } });
    expect(pulled.headers.get("docker-content-digest")).toBe(digest);
    // a tag outside the rule moves freely
    await tagImage(a.tag, `${host}/prod/app:latest`);
    await dockerPush(`${host}/prod/app:latest`);
    await tagImage(b.tag, `${host}/prod/app:latest`);
    await dockerPush(`${host}/prod/app:latest`);
  });

  test("cosign signature tags are exempt: a signer appends to them", async () => {
    const base = server.berth.url;
    const sigTag = `sha256-${"ab".repeat(32)}.sig`;
    const config = utf8("{}");
    await pushBlob(base, "prod/app", config);
    for (const n of [1, 2]) {
      const layer = utf8(`{"signature":${n}}`);
      await pushBlob(base, "prod/app", layer);
      const manifest = serialize(imageManifestJson({ config: descriptorOf(MT.ociConfig, config), layers: [descriptorOf("application/vnd.dev.cosign.simplesigning.v1+json", layer)] }));
      expectStatus(await putManifest(base, "prod/app", sigTag, manifest, MT.ociManifest), 201);
    }
  });
});

describe("quotas", () => {
  test("a docker push over the quota is refused; after a delete and GC it fits again", async () => {
    const [a, b] = images as [TestImage, TestImage];
    const base = server.berth.url;
    await tagImage(a.tag, `${host}/small/app:a`);
    const digestA = await dockerPush(`${host}/small/app:a`);
    await tagImage(b.tag, `${host}/small/app:b`);
    const refused = await docker(["push", `${host}/small/app:b`], { allowFailure: true, timeoutMs: 120_000 });
    expect(refused.exitCode).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toContain("quota exceeded");
    const quotas = await json(base, "/api/v1/quotas");
    expect(JSON.stringify(quotas)).toContain('"max_bytes":1572864');

    expectStatus(await call(base, `/v2/small/app/manifests/${digestA}`, { method: "DELETE" }), 202);
    await runGc(base);
    await dockerPush(`${host}/small/app:b`);
  });
});
