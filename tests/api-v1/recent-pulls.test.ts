/**
 * GET /api/v1/pulls: the manifests pulled last, newest first, with their tags and pull counts
 * (the web UI's activity page); a bad limit is 400. SQLite and PostgreSQL.
 */
import { describe, expect, test } from "bun:test";
import { call, expectError, expectStatus, MT, randomBytes } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { api, inProcessSuite, pushKnownImage } from "./support.ts";

const { start } = inProcessSuite();

describe.each(metadataBackends())("recent pulls on %s", (backend) => {
  test("the last pulled first, with tags and counts; never-pulled manifests are not listed", async () => {
    const { url } = await start(backend);
    const first = await pushKnownImage(url, "pulls/a", "v1", { layers: [randomBytes(64)] });
    const second = await pushKnownImage(url, "pulls/b", "v1", { layers: [randomBytes(64)] });
    await pushKnownImage(url, "pulls/c", "v1", { layers: [randomBytes(64)] });
    const pull = (repository: string) => call(url, `/v2/${repository}/manifests/v1`, { headers: { Accept: MT.ociManifest } });
    expectStatus(await pull("pulls/a"), 200);
    await Bun.sleep(5); // distinct pull times (ms) so the order is defined
    expectStatus(await pull("pulls/b"), 200);
    expectStatus(await pull("pulls/b"), 200);
    const res = await api(url, "/api/v1/pulls?limit=10");
    expectStatus(res, 200);
    expect(res.json).toMatchObject({
      pulls: [
        { repository: "pulls/b", digest: second.digest, tags: ["v1"], pull_count: 2 },
        { repository: "pulls/a", digest: first.digest, tags: ["v1"], pull_count: 1 },
      ],
    });
    expectError(await call(url, "/api/v1/pulls?limit=0"), 400, "PAGINATION_NUMBER_INVALID");
    expectError(await call(url, "/api/v1/pulls?limit=x"), 400, "PAGINATION_NUMBER_INVALID");
  });
});
