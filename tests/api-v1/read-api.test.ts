/**
 * The read API in-process (the composition `berth serve` uses, auth off), on SQLite and on
 * PostgreSQL: repositories, tags and manifests with exact sizes, dates and pull counts; sort
 * orders, paging and filtering; and the error codes of bad input.
 */
import { describe, expect, test } from "bun:test";
import {
  absentDigest, call, descriptorOf, expectError, expectStatus, getManifest, indexJson, MT, putManifest, randomBytes, serialize, sha256,
} from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { api, distinctBytes, inProcessSuite, names, pushKnownImage, tick } from "./support.ts";

const { start } = inProcessSuite();

describe.each(metadataBackends())("read API on %s", (backend) => {
  test("repositories: counts, sizes of distinct blobs, dates; sorted by name, push and size; filtered; paged", async () => {
    const { url, index } = await start(backend);
    const shared = randomBytes(300);
    const a = await pushKnownImage(url, "ns1/alpha", "v1", { layers: [shared, randomBytes(500)] });
    const b = await pushKnownImage(url, "ns1/alpha", "v2", { layers: [shared, randomBytes(100)] });
    await tick();
    const c = await pushKnownImage(url, "ns1/beta", "latest", { layers: [shared] });
    await tick();
    const d = await pushKnownImage(url, "zeta", null, { layers: [randomBytes(2000)] });

    const list = await api(url, "/api/v1/repositories");
    expectStatus(list, 200);
    const alphaSize = distinctBytes({ digest: a.digest, size: a.bytes.byteLength }, a.config, ...a.layers, { digest: b.digest, size: b.bytes.byteLength }, b.config, ...b.layers);
    expect(alphaSize).toBe(a.total + b.total - shared.byteLength);
    const body = list.json as { repositories: Array<Record<string, unknown>>; page: number; per_page: number; total: number };
    expect(body.page).toBe(1);
    expect(body.per_page).toBe(50);
    expect(body.total).toBe(3);
    expect(body.repositories.map((r): Record<string, unknown> => ({ ...r, pushed_at: typeof r.pushed_at }))).toEqual([
      { name: "ns1/alpha", tags: 2, manifests: 2, size: alphaSize, pushed_at: "string", pulled_at: null },
      { name: "ns1/beta", tags: 1, manifests: 1, size: c.total, pushed_at: "string", pulled_at: null },
      { name: "zeta", tags: 0, manifests: 1, size: d.total, pushed_at: "string", pulled_at: null },
    ]);
    expect(new Date(String(body.repositories[0]?.pushed_at)).toISOString()).toBe(String(body.repositories[0]?.pushed_at));
    expect(list.headers.get("link")).toBeNull();

    expect(names((await api(url, "/api/v1/repositories?sort=name")).json, "repositories")).toEqual(["ns1/alpha", "ns1/beta", "zeta"]);
    expect(names((await api(url, "/api/v1/repositories?sort=pushed")).json, "repositories")).toEqual(["zeta", "ns1/beta", "ns1/alpha"]);
    expect(names((await api(url, "/api/v1/repositories?sort=size")).json, "repositories")).toEqual(
      [["ns1/alpha", alphaSize], ["ns1/beta", c.total], ["zeta", d.total]].sort((x, y) => Number(y[1]) - Number(x[1])).map((x) => String(x[0])),
    );
    expect(names((await api(url, "/api/v1/repositories?q=ns1")).json, "repositories")).toEqual(["ns1/alpha", "ns1/beta"]);
    expect(names((await api(url, "/api/v1/repositories?q=ALPHA")).json, "repositories")).toEqual(["ns1/alpha"]);
    expect((await api(url, "/api/v1/repositories?q=nothing")).json).toEqual({ repositories: [], page: 1, per_page: 50, total: 0 });

    const first = await api(url, "/api/v1/repositories?per_page=2&sort=pushed");
    expect(names(first.json, "repositories")).toEqual(["zeta", "ns1/beta"]);
    expect((first.json as { total: number }).total).toBe(3);
    const next = first.headers.get("link");
    expect(next).toBe('</api/v1/repositories?sort=pushed&page=2&per_page=2>; rel="next"');
    const second = await api(url, /<([^>]+)>/.exec(next ?? "")?.[1] ?? "");
    expect(names(second.json, "repositories")).toEqual(["ns1/alpha"]);
    expect(second.headers.get("link")).toBeNull();
    expect((await api(url, "/api/v1/repositories?page=9")).json).toEqual({ repositories: [], page: 9, per_page: 50, total: 3 });
    expect((await api(url, "/api/v1/repositories?per_page=100000")).json).toMatchObject({ per_page: 500 });

    // pulls are counted in memory and written in batches: flushed here instead of waiting
    for (let i = 0; i < 2; i++) expectStatus(await getManifest(url, "ns1/alpha", "v1"), 200);
    await index.flushPulls();
    const pulled = (await api(url, "/api/v1/repositories/ns1/alpha")).json as Record<string, unknown>;
    expect(typeof pulled.pulled_at).toBe("string");
    expect(pulled).toMatchObject({ name: "ns1/alpha", tags: 2, manifests: 2, size: alphaSize });
    expect((await api(url, "/api/v1/repositories/ns1/beta")).json).toMatchObject({ pulled_at: null });
  });

  test("tags: digest, media type, total size, platforms, dates and pull counts; by name or push; paged", async () => {
    const { url, index } = await start(backend);
    const x = await pushKnownImage(url, "team/app", "b", { layers: [randomBytes(400)], platform: { os: "linux", architecture: "arm64", variant: "v8" } });
    await tick();
    expectStatus(await putManifest(url, "team/app", "A", x.bytes, MT.ociManifest), 201);
    await tick();
    const y = await pushKnownImage(url, "team/app", "c", { layers: [randomBytes(700), randomBytes(10)] });

    const byName = await api(url, "/api/v1/repositories/team/app/tags");
    expectStatus(byName, 200);
    const body = byName.json as { name: string; tags: Array<Record<string, unknown>>; total: number };
    expect(body.name).toBe("team/app");
    expect(body.total).toBe(3);
    expect(body.tags.map((t) => t.name)).toEqual(["A", "b", "c"]);
    const [tagA, tagB, tagC] = body.tags;
    const shownB: Record<string, unknown> = { ...tagB, pushed_at: typeof tagB?.pushed_at };
    expect(shownB).toEqual({
      name: "b", digest: x.digest, media_type: MT.ociManifest, size: x.total,
      platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }], pushed_at: "string", pulled_at: null, pull_count: 0,
    });
    expect(tagA).toMatchObject({ digest: x.digest, size: x.total });
    expect(tagC).toMatchObject({ digest: y.digest, size: y.total, platforms: [{ os: "linux", architecture: "amd64" }] });
    expect(names((await api(url, "/api/v1/repositories/team/app/tags?sort=pushed")).json, "tags")).toEqual(["c", "A", "b"]);
    const paged = await api(url, "/api/v1/repositories/team/app/tags?per_page=1&page=2");
    expect(names(paged.json, "tags")).toEqual(["b"]);
    expect(paged.headers.get("link")).toBe('</api/v1/repositories/team/app/tags?sort=name&page=3&per_page=1>; rel="next"');
    expect(names((await api(url, "/api/v1/repositories/team/app/tags?q=c")).json, "tags")).toEqual(["c"]);

    // pull counts are the manifest's: by either tag or by digest
    for (let i = 0; i < 3; i++) expectStatus(await getManifest(url, "team/app", "b"), 200);
    expectStatus(await getManifest(url, "team/app", x.digest), 200);
    expectStatus(await getManifest(url, "team/app", "c", "HEAD"), 200); // a HEAD is no pull
    await index.flushPulls();
    const counted = (await api(url, "/api/v1/repositories/team/app/tags")).json as { tags: Array<{ name: string; pull_count: number; pulled_at: unknown }> };
    expect(counted.tags.map((t) => [t.name, t.pull_count, typeof t.pulled_at])).toEqual([
      ["A", 4, "string"],
      ["b", 4, "string"],
      ["c", 0, "object"],
    ]);
  });

  test("manifest: config, layers, labels, annotations, tags, referrers, the indexes listing it, an index's children", async () => {
    const { url } = await start(backend);
    const labels = { "org.opencontainers.image.source": "https://example.com/app" };
    const m = await pushKnownImage(url, "team/app", "v1", {
      layers: [randomBytes(123), randomBytes(456)],
      labels,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
      created: "2024-01-02T03:04:05Z",
      annotations: { "org.example.note": "hello" },
    });
    expectStatus(await putManifest(url, "team/app", "stable", m.bytes, MT.ociManifest), 201);
    const subject = descriptorOf(MT.ociManifest, m.bytes);
    const sbom = await pushKnownImage(url, "team/app", null, { layers: [randomBytes(64)], subject, artifactType: "application/vnd.example.sbom", annotations: { kind: "sbom" } });
    const other = await pushKnownImage(url, "team/app", null, { layers: [randomBytes(77)] });
    const indexBytes = serialize(indexJson({
      manifests: [
        { ...descriptorOf(MT.ociManifest, m.bytes), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { ...descriptorOf(MT.ociManifest, other.bytes), platform: { os: "linux", architecture: "amd64" } },
      ],
    }));
    expectStatus(await putManifest(url, "team/app", "multi", indexBytes, MT.ociIndex), 201);

    const res = await api(url, `/api/v1/repositories/team/app/manifests/${m.digest}`);
    expectStatus(res, 200);
    const details = res.json as Record<string, unknown>;
    const shown: Record<string, unknown> = { ...details, pushed_at: typeof details.pushed_at };
    expect(shown).toEqual({
      repository: "team/app",
      digest: m.digest,
      media_type: MT.ociManifest,
      artifact_type: MT.ociConfig,
      size: m.bytes.byteLength,
      total_size: m.total,
      config: { digest: m.config.digest, media_type: MT.ociConfig, size: m.config.size },
      layers: m.layers.map((layer) => ({ digest: layer.digest, media_type: MT.ociLayer, size: layer.size })),
      manifests: [],
      subject: null,
      platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }],
      labels,
      annotations: { "org.example.note": "hello" },
      created: "2024-01-02T03:04:05Z",
      tags: ["stable", "v1"],
      referrers: [{ digest: sbom.digest, media_type: MT.ociManifest, artifact_type: "application/vnd.example.sbom", size: sbom.bytes.byteLength, annotations: { kind: "sbom" } }],
      indexes: [sha256(indexBytes)],
      pushed_at: "string",
      pulled_at: null,
      pull_count: 0,
    });

    const referrer = (await api(url, `/api/v1/repositories/team/app/manifests/${sbom.digest}`)).json;
    expect(referrer).toMatchObject({ subject: { digest: m.digest, media_type: MT.ociManifest, size: m.bytes.byteLength }, artifact_type: "application/vnd.example.sbom", tags: [] });

    const index = (await api(url, `/api/v1/repositories/team/app/manifests/${sha256(indexBytes)}`)).json;
    expect(index).toMatchObject({
      media_type: MT.ociIndex,
      size: indexBytes.byteLength,
      total_size: indexBytes.byteLength + m.bytes.byteLength + other.bytes.byteLength,
      config: null,
      layers: [],
      manifests: [
        { digest: m.digest, media_type: MT.ociManifest, size: m.bytes.byteLength, platform: { os: "linux", architecture: "arm64", variant: "v8" }, total_size: m.total },
        { digest: other.digest, media_type: MT.ociManifest, size: other.bytes.byteLength, platform: { os: "linux", architecture: "amd64" }, total_size: other.total },
      ],
      platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }, { os: "linux", architecture: "amd64" }],
      tags: ["multi"],
      indexes: [],
    });
  });

  test("bad input gets the spec's codes: unknown names and manifests, bad names, digests, pages and sorts, other methods", async () => {
    const { url } = await start(backend);
    const image = await pushKnownImage(url, "team/app", "v1", { layers: [randomBytes(10)] });
    expectError(await call(url, "/api/v1/repositories/team/nope"), 404, "NAME_UNKNOWN");
    expectError(await call(url, "/api/v1/repositories/team/nope/tags"), 404, "NAME_UNKNOWN");
    expectError(await call(url, `/api/v1/repositories/team/nope/manifests/${image.digest}`), 404, "NAME_UNKNOWN");
    expectError(await call(url, `/api/v1/repositories/team/app/manifests/${absentDigest()}`), 404, "MANIFEST_UNKNOWN");
    expectError(await call(url, "/api/v1/repositories/team/app/manifests/sha256:abc"), 400, "DIGEST_INVALID");
    expectError(await call(url, "/api/v1/repositories/team/app/manifests/v1"), 400, "DIGEST_INVALID");
    expectError(await call(url, "/api/v1/repositories/Team/App/tags"), 400, "NAME_INVALID");
    expectError(await call(url, "/api/v1/repositories/team//app"), 400, "NAME_INVALID");
    for (const query of ["page=0", "page=-1", "page=abc", "page=", "page=1.5", "page=99999999999", "per_page=0", "per_page=x"]) {
      expectError(await call(url, `/api/v1/repositories?${query}`), 400, "PAGINATION_NUMBER_INVALID");
      expectError(await call(url, `/api/v1/repositories/team/app/tags?${query}`), 400, "PAGINATION_NUMBER_INVALID");
    }
    expectError(await call(url, "/api/v1/repositories?sort=date"), 400, "UNSUPPORTED");
    expectError(await call(url, "/api/v1/repositories/team/app/tags?sort=size"), 400, "UNSUPPORTED");
    const post = await call(url, "/api/v1/repositories", { method: "POST" });
    expectError(post, 405, "UNSUPPORTED");
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expectError(await call(url, "/api/v1/repositories/team/app/tags", { method: "PUT" }), 405, "UNSUPPORTED");
    const head = await call(url, "/api/v1/repositories/team/app/tags", { method: "HEAD" });
    expectStatus(head, 200);
    expect(head.text).toBe("");
  });
});
