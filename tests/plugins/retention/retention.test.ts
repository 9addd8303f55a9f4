/**
 * Retention policies against the compiled binary: each rule kind, AND and OR, the preview a run
 * then applies, undo, and GC freeing the bytes only after the undo window. Time: push and pull
 * times are real; the evaluation time moves with ?now= (BERTH_TEST_CLOCK=1 lets run and
 * restore take it too), never by sleeping.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { blobFile, runGc } from "../../helpers/gc.ts";
import { call, descriptorOf, expectStatus, imageManifestJson, MT, putManifest, serialize, sha256, utf8 } from "../../helpers/oci.ts";
import { pushBlob } from "../../helpers/oci.ts";
import { runBerth } from "../../helpers/server.ts";
import { type ConfiguredBerth, daysFromNow, json, manifestsOf, plannedRepositories, pushImage, startWithConfig, tagList, tagsOf } from "./support.ts";

const CONFIG = `
[gc]
delay = "0s"

[retention]
undo_window = "7d"

[[retention.policies]]
repositories = ["team/**"]
keep = "any"
  [[retention.policies.rules]]
  tags = ["v*"]
  most_recent = 2
  [[retention.policies.rules]]
  pulled_within = "30d"

[[retention.policies]]
repositories = ["grp/**"]
keep = "all"
untagged = "1d"
  [[retention.policies.rules]]
  tags = ["/^v(\\\\d+)\\\\.(\\\\d+)\\\\./"]
  most_recent_per_group = 1
  [[retention.policies.rules]]
  pushed_within = "10d"

[[retention.policies]]
repositories = ["race/**"]
  [[retention.policies.rules]]
  tags = ["v*"]
  most_recent = 1

[[retention.policies]]
repositories = ["dry/**"]
dry_run = true
  [[retention.policies.rules]]
  most_recent = 1
`;

let server: ConfiguredBerth;
let base: string;

beforeAll(async () => {
  server = await startWithConfig(CONFIG, { BERTH_TEST_CLOCK: "1" });
  base = server.berth.url;
});
afterAll(async () => {
  await server?.stop();
});

describe("retention: OR of rules, shared digests, preview = run, undo, GC after the window", () => {
  test("the preview lists what no rule keeps; the run deletes exactly that; undo; GC waits for the window", async () => {
    const v1 = await pushImage(base, "team/app", "v1");
    const v2 = await pushImage(base, "team/app", "v2");
    const v3 = await pushImage(base, "team/app", "v3");
    expectStatus(await putManifest(base, "team/app", "latest", v3.bytes, MT.ociManifest), 201); // latest shares v3's digest
    await pushImage(base, "team/app", "dev1");
    expectStatus(await call(base, "/v2/team/app/manifests/dev1", { headers: { Accept: MT.ociManifest } }), 200); // pulled: kept by rule 2

    const preview = await json(base, "/api/v1/retention/preview");
    expect(tagsOf(preview, "team/app")).toEqual(["latest", "v1"]);
    const v1Entry = plannedRepositories(preview).find((r) => r.name === "team/app")?.tags.find((t) => t.tag === "v1");
    expect(v1Entry?.reasons.join(" | ")).toContain("not among the 2 most recently pushed");
    expect(v1Entry?.reasons.join(" | ")).toContain("never pulled");
    expect(preview.bytes_freed_after_gc).toBeGreaterThanOrEqual(v1.layers[0]!.size); // v1's manifest loses its last tag

    const run = await json(base, "/api/v1/retention/run", "POST");
    expect(tagsOf(run.plan as Record<string, unknown>, "team/app")).toEqual(["latest", "v1"]);
    expect(run.deleted_tags).toBe(2);
    expect(await tagList(base, "team/app")).toEqual(["dev1", "v2", "v3"]);
    expectStatus(await call(base, `/v2/team/app/manifests/${v3.digest}`, { method: "HEAD" }), 200); // latest lost only its tag

    // within the undo window GC does not free v1's bytes: its manifest is held
    await runGc(base);
    expect(existsSync(blobFile(server.berth.root, v1.layers[0]!.digest))).toBe(true);
    const restored = await runBerth(["tag", "restore", "team/app:v1"], { env: { BERTH_STORAGE_ROOT: server.berth.root } });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(v1.digest);
    expect(await tagList(base, "team/app")).toContain("v1");
    expectStatus(await call(base, "/v2/team/app/manifests/v1", { headers: { Accept: MT.ociManifest } }), 200);
    const runs = await json(base, "/api/v1/retention/runs");
    expect(Array.isArray(runs.runs) && runs.runs.length).toBeGreaterThanOrEqual(1);

    // the restored v1 is the most recently pushed v* tag now: the next run removes v2, and
    // eight days later v2's manifest goes and GC frees its layer
    const second = await json(base, "/api/v1/retention/run", "POST");
    expect(tagsOf(second.plan as Record<string, unknown>, "team/app")).toEqual(["v2"]);
    const later = await json(base, `/api/v1/retention/preview?now=${daysFromNow(8)}`);
    expect(manifestsOf(later, "team/app")).toEqual([v2.digest]);
    await json(base, `/api/v1/retention/run?now=${daysFromNow(8)}`, "POST");
    expectStatus(await call(base, `/v2/team/app/manifests/${v2.digest}`, { method: "HEAD" }), 404);
    await runGc(base);
    expect(existsSync(blobFile(server.berth.root, v2.layers[0]!.digest))).toBe(false);
    expect(existsSync(blobFile(server.berth.root, v1.layers[0]!.digest))).toBe(true);
    expectStatus(await call(base, "/v2/team/app/manifests/v3", { headers: { Accept: MT.ociManifest } }), 200);
    // a restore after the window has passed is refused
    const gone = await call(base, `/api/v1/repositories/team/app/tags/v2/restore?now=${daysFromNow(8)}`, { method: "POST" });
    expect(gone.status).toBe(404);
  });
});

describe("retention: AND, per group, untagged, referrers with their subject, dry_run", () => {
  test("keep = all needs every rule; one per v<major>.<minor> line", async () => {
    for (const tag of ["v1.0.0", "v1.0.1", "v1.1.0", "v2.0.0"]) await pushImage(base, "grp/app", tag);
    const now = await json(base, "/api/v1/retention/preview?repository=grp/app");
    expect(tagsOf(now, "grp/app")).toEqual(["v1.0.0"]);
    const later = await json(base, `/api/v1/retention/preview?repository=grp/app&now=${daysFromNow(11)}`);
    expect(tagsOf(later, "grp/app")).toEqual(["v1.0.0", "v1.0.1", "v1.1.0", "v2.0.0"]);
  });

  test("an untagged manifest goes after `untagged`, with its referrer and its cosign signature tag", async () => {
    const untagged = await pushImage(base, "grp/lone", "tmp");
    const del = await call(base, "/v2/grp/lone/manifests/tmp", { method: "DELETE" });
    expectStatus(del, 202);
    await pushImage(base, "grp/lone", "v9.9.9"); // keeps the repository listed
    const empty = utf8("{}");
    await pushBlob(base, "grp/lone", empty);
    const referrer = serialize(
      imageManifestJson({
        artifactType: "application/vnd.example.sbom",
        config: descriptorOf("application/vnd.oci.empty.v1+json", empty),
        layers: [descriptorOf("application/vnd.oci.empty.v1+json", empty)],
        subject: descriptorOf(MT.ociManifest, untagged.bytes),
      }),
    );
    expectStatus(await putManifest(base, "grp/lone", sha256(referrer), referrer, MT.ociManifest), 201);
    const signature = serialize(imageManifestJson({ config: descriptorOf(MT.ociConfig, empty), layers: [descriptorOf("application/vnd.dev.cosign.simplesigning.v1+json", empty)] }));
    expectStatus(await putManifest(base, "grp/lone", `sha256-${untagged.digest.slice(7)}.sig`, signature, MT.ociManifest), 201);

    const now = await json(base, "/api/v1/retention/preview?repository=grp/lone");
    expect(manifestsOf(now, "grp/lone")).toEqual([]);
    expect(tagsOf(now, "grp/lone")).toEqual([]); // the signature tag never goes alone
    const later = await json(base, `/api/v1/retention/preview?repository=grp/lone&now=${daysFromNow(2)}`);
    expect(manifestsOf(later, "grp/lone")).toEqual([untagged.digest, sha256(referrer), sha256(signature)].sort());
  });

  test("a dry_run policy reports and deletes nothing", async () => {
    await pushImage(base, "dry/app", "a");
    await pushImage(base, "dry/app", "b");
    const run = await json(base, "/api/v1/retention/run", "POST");
    expect(tagsOf(run.plan as Record<string, unknown>, "dry/app")).toEqual(["a"]);
    expect(await tagList(base, "dry/app")).toEqual(["a", "b"]);
  });

  test("bad input: now= that is not a time, restore of an unknown tag", async () => {
    expect((await call(base, "/api/v1/retention/preview?now=yesterday")).status).toBe(400);
    expect((await call(base, "/api/v1/repositories/grp/app/tags/nope/restore", { method: "POST" })).status).toBe(404);
  });
});

describe("retention running while pushes land", () => {
  test("a run deletes only tags its own plan listed, and a tag pushed again since is left", async () => {
    const before = new Map<string, string>();
    for (let i = 0; i < 5; i++) before.set(`v${i}`, (await pushImage(base, "race/app", `v${i}`)).digest);
    const pushes = (async () => {
      const moved = await pushImage(base, "race/app", "v0"); // v0 again, to another digest
      before.set("v0", moved.digest);
      for (let i = 0; i < 6; i++) await pushImage(base, "race/app", `v-new-${i}`);
    })();
    const run = await json(base, "/api/v1/retention/run", "POST");
    await pushes;
    const planned = plannedRepositories(run.plan as Record<string, unknown>).find((r) => r.name === "race/app")?.tags ?? [];
    const plannedDigest = new Map(planned.map((t) => [t.tag, t.digest]));
    const after = new Set(await tagList(base, "race/app"));
    for (const tag of [...before.keys(), ...Array.from({ length: 6 }, (_, i) => `v-new-${i}`)]) {
      const planDigest = plannedDigest.get(tag);
      if (planDigest === undefined) expect(after.has(tag), `${tag} was not in the plan`).toBe(true);
      else if (after.has(tag)) expect(before.get(tag), `${tag} survived: it must have moved since the plan`).not.toBe(planDigest);
    }
    expect(run.deleted_tags).toBeLessThanOrEqual(planned.length);
  });
});
