/**
 * Read-only for maintenance, from [storage] read_only or POST /api/v1/maintenance: pushes,
 * deletes and GC answer 503 UNSUPPORTED with the maintenance message, pulls go on, /healthz says so.
 */
import { expect } from "bun:test";
import { call, expectError, getManifest, pushImage, randomBytes, sha256, uniqueName } from "../helpers/oci.ts";
import { serverSuite, startBerth } from "../helpers/server.ts";

const { servers, test } = serverSuite();
const MESSAGE = "the registry is read-only for maintenance";

test("POST /api/v1/maintenance turns read-only on and off; pulls go on meanwhile", async () => {
  const berth = await servers.started(startBerth());
  const repo = uniqueName("ro/app");
  const image = await pushImage(berth.url, repo, { tag: "v1" });
  const on = await call(berth.url, "/api/v1/maintenance", { method: "POST", body: '{"read_only": true}' });
  expect(on.status).toBe(200);
  expect(JSON.parse(on.text)).toEqual({ read_only: true });
  const health = await call(berth.url, "/healthz");
  expect(health.status).toBe(200);
  expect(JSON.parse(health.text)).toMatchObject({ status: "ok", mode: "read-only" });

  const refusals = [
    await call(berth.url, `/v2/${repo}/blobs/uploads/`, { method: "POST" }),
    await call(berth.url, `/v2/${repo}/blobs/uploads/?digest=${sha256(randomBytes(8))}`, { method: "POST", body: randomBytes(8) }),
    await call(berth.url, `/v2/${repo}/manifests/v2`, { method: "PUT", body: image.bytes, headers: { "Content-Type": image.mediaType } }),
    await call(berth.url, `/v2/${repo}/manifests/v1`, { method: "DELETE" }),
    await call(berth.url, `/v2/${repo}/blobs/${image.config.digest}`, { method: "DELETE" }),
    await call(berth.url, `/v2/${repo}/blobs/uploads/?mount=${image.config.digest}&from=${repo}`, { method: "POST" }),
    await call(berth.url, "/api/v1/gc", { method: "POST" }),
    await call(berth.url, `/api/v1/repositories/${repo}`, { method: "DELETE" }),
  ];
  for (const refused of refusals) expect(expectError(refused, 503, "UNSUPPORTED").message).toBe(MESSAGE);

  const pulled = await getManifest(berth.url, repo, "v1");
  expect(pulled.status).toBe(200);
  expect((await call(berth.url, `/v2/${repo}/blobs/${image.layers[0]?.digest}`)).status).toBe(200);
  expect((await call(berth.url, "/api/v1/gc?dry_run=true", { method: "POST" })).status).toBe(200);

  expect((await call(berth.url, "/api/v1/maintenance", { method: "POST", body: '{"read_only": "yes"}' })).status).toBe(400);
  expect(JSON.parse((await call(berth.url, "/api/v1/maintenance", { method: "POST", body: '{"read_only": false}' })).text)).toEqual({ read_only: false });
  expect(JSON.parse((await call(berth.url, "/healthz")).text)).toMatchObject({ mode: "read-write" });
  await pushImage(berth.url, repo, { tag: "v2" });
});

test("[storage] read_only = true starts read-only", async () => {
  const berth = await servers.started(startBerth({ env: { BERTH_STORAGE_READ_ONLY: "true" } }));
  expect(JSON.parse((await call(berth.url, "/api/v1/maintenance")).text)).toEqual({ read_only: true });
  expect(expectError(await call(berth.url, "/v2/ro/x/blobs/uploads/", { method: "POST" }), 503, "UNSUPPORTED").message).toBe(MESSAGE);
  expect((await call(berth.url, "/v2/")).status).toBe(200);
});
