/**
 * Three Berth replicas on one Ceph RGW bucket and one PostgreSQL database behind HAProxy (round
 * robin per request, tests/helpers/cluster.ts): the docker and skopeo round trips, chunked
 * uploads whose requests land on different replicas, a tag changed through one replica seen by
 * the others within metadata.cache_ttl, garbage collection on one replica at a time while
 * pushes go to all, kill -9 of a replica during 24 concurrent pushers, token auth and login
 * throttling across replicas, maintenance mode followed by every replica.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { join } from "node:path";
import { writeHtpasswd } from "../helpers/auth.ts";
import { type CephCluster, startCeph } from "../helpers/ceph.ts";
import { type Cluster, clusterAvailable, startCluster } from "../helpers/cluster.ts";
import { buildTestImage, ensureDocker, exec, pullImage, pushImage as dockerPush, removeImage, runImage, tagImage, type TestImage } from "../helpers/docker.ts";
import { ACCEPT_ALL_MANIFESTS, call, expectStatus, getManifest, isRecord, MT, putManifest, pushImage, randomBytes, sha256, tagsOf, uniqueName, utf8, type PushedImage } from "../helpers/oci.ts";
import { expectCopiesBackIdentical, pushLayout, writeMultiArchLayout } from "../helpers/skopeo.ts";
import { removeDir, tempDir, testWithServerLog } from "../helpers/server.ts";
import { eventsOf, TestReceiver } from "../plugins/webhook/support.ts";
import { writeFileSync } from "node:fs";
import { SQL } from "bun";

const available = clusterAvailable();
/** the bound a tag change through another replica may go unseen (metadata.cache_ttl here) */
const CACHE_TTL_MS = 1_000;

describe.skipIf(!available)("scale-out: three replicas, Ceph RGW, PostgreSQL, HAProxy", () => {
  let ceph: CephCluster | null = null;
  let cluster: Cluster | null = null;
  let work = "";
  let receiver: TestReceiver | null = null;
  const images: string[] = [];
  const test = testWithServerLog(() => cluster?.servers() ?? []);

  beforeAll(async () => {
    await ensureDocker();
    work = tempDir("berth-scale-out-");
    receiver = await TestReceiver.start();
    // a webhook endpoint for manifests, and a retention policy keeping the newest tag of ret/**
    const config = join(work, "registry.toml");
    writeFileSync(config, [
      "[[webhook.endpoints]]",
      'name = "ci"',
      `url = "${receiver.url("/hook")}"`,
      'ignored_media_types = ["application/octet-stream"]', // blob pushes: only manifests are counted here
      "",
      "[[retention.policies]]",
      'repositories = ["ret/**"]',
      "  [[retention.policies.rules]]",
      "  most_recent = 1",
      "",
    ].join("\n"));
    ceph = await startCeph();
    cluster = await startCluster({ replicas: 3, ceph, env: { BERTH_CONFIG: config, BERTH_METADATA_CACHE_TTL: `${CACHE_TTL_MS}ms`, BERTH_GC_DELAY: "0s", BERTH_GC_INTERVAL: "1h" } });
  }, 300_000);
  afterAll(async () => {
    for (const image of images) await removeImage(image).catch(() => undefined);
    await cluster?.stop();
    await ceph?.stop();
    await receiver?.down();
    if (work) removeDir(work);
  }, 180_000);

  function running(): Cluster {
    if (!cluster) throw new Error("the cluster did not start");
    return cluster;
  }

  test("docker push, pull, run, tag list, catalog and delete through HAProxy; each push spread over the replicas", async () => {
    const { host, url } = running();
    const image: TestImage = await buildTestImage({ name: "scale-out", text: `scale-out ${Date.now()}` });
    images.push(image.id);
    const before = running().requestsPerReplica();
    const ref = `${host}/team/app:v1`;
    await tagImage(image.id, ref);
    images.push(ref);
    const pushed = await dockerPush(ref);
    const spread = running().requestsPerReplica().map((n, i) => n - (before[i] ?? 0));
    for (const count of spread) expect(count).toBeGreaterThan(0); // the push's requests reached every replica
    await removeImage(ref);
    await removeImage(image.id);
    expect(await pullImage(ref)).toBe(pushed);
    expect(await runImage(ref)).toContain("scale-out");

    expect(await tagsOf(url, "team/app")).toEqual(["v1"]);
    for (const replica of running().replicas) {
      expect(await tagsOf(replica.url, "team/app")).toEqual(["v1"]);
      const catalog = await call(replica.url, "/v2/_catalog");
      expect(catalog.text).toContain("team/app");
    }
    const head = await getManifest(url, "team/app", "v1", "HEAD");
    const digest = head.headers.get("docker-content-digest") ?? "";
    const deleted = await call(url, `/v2/team/app/manifests/${digest}`, { method: "DELETE" });
    expectStatus(deleted, 202);
    const deadline = Date.now() + CACHE_TTL_MS + 5_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      const answers = await Promise.all(running().replicas.map((replica) => getManifest(replica.url, "team/app", "v1", "HEAD")));
      gone = answers.every((answer) => answer.status === 404);
      if (!gone) await Bun.sleep(100);
    }
    expect(gone).toBe(true);
  }, 300_000);

  test("skopeo copies a two-platform index in through HAProxy and back out byte for byte", async () => {
    const layout = writeMultiArchLayout(join(work, "source"), `scale-out index ${Date.now()}`);
    await pushLayout(running().host, "multi/arch", layout);
    await expectCopiesBackIdentical(running().host, "multi/arch", layout, join(work, "back"));
  }, 180_000);

  test("a chunked upload started on one replica, continued on the second and finished on the third", async () => {
    const [r0, r1, r2] = running().replicas;
    if (!r0 || !r1 || !r2) throw new Error("three replicas expected");
    const repo = uniqueName("chunks");
    const parts = [randomBytes(70_000), randomBytes(70_000), randomBytes(12_345)];
    const whole = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
    parts.reduce((offset, part) => (whole.set(part, offset), offset + part.byteLength), 0);
    const digest = sha256(whole);
    const started = await call(r0.url, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    expectStatus(started, 202);
    let location = started.headers.get("location") ?? "";
    let offset = 0;
    for (const [i, part] of parts.entries()) {
      const target = [r1, r2, r0][i];
      if (!target) throw new Error("no replica");
      const patched = await call(target.url, location, {
        method: "PATCH",
        body: part,
        headers: { "content-type": "application/octet-stream", "content-range": `${offset}-${offset + part.byteLength - 1}` },
      });
      expectStatus(patched, 202);
      offset += part.byteLength;
      expect(patched.headers.get("range")).toBe(`0-${offset - 1}`);
      location = patched.headers.get("location") ?? location;
      // the offset is the same whichever replica is asked
      const status = await call([r2, r0, r1][i]?.url ?? r0.url, location);
      expect(status.headers.get("range")).toBe(`0-${offset - 1}`);
    }
    const separator = location.includes("?") ? "&" : "?";
    const finished = await call(r1.url, `${location}${separator}digest=${digest}`, { method: "PUT" });
    expectStatus(finished, 201);
    for (const replica of running().replicas) {
      const blob = await call(replica.url, `/v2/${repo}/blobs/${digest}`);
      expectStatus(blob, 200);
      expect(sha256(new Uint8Array(blob.body))).toBe(digest);
    }
  }, 120_000);

  test(`a tag moved through one replica is seen by the others within metadata.cache_ttl (${CACHE_TTL_MS} ms)`, async () => {
    const [r0, r1, r2] = running().replicas;
    if (!r0 || !r1 || !r2) throw new Error("three replicas expected");
    const repo = uniqueName("moving");
    const first = await pushImage(r0.url, repo, { tag: "latest" });
    // the other replicas read (and cache) the tag
    for (const replica of [r1, r2]) expect((await getManifest(replica.url, repo, "latest")).headers.get("docker-content-digest")).toBe(first.digest);
    const second = await pushImage(r0.url, repo, { tag: "latest" });
    const changedAt = Date.now();
    // bounded: the documented bound plus generous slack for a busy machine
    const deadline = changedAt + CACHE_TTL_MS + 5_000;
    const seenAfter: number[] = [];
    for (const replica of [r1, r2]) {
      while (Date.now() < deadline) {
        const digest = (await getManifest(replica.url, repo, "latest")).headers.get("docker-content-digest");
        if (digest === second.digest) break;
        await Bun.sleep(50);
      }
      expect((await getManifest(replica.url, repo, "latest")).headers.get("docker-content-digest")).toBe(second.digest);
      seenAfter.push(Date.now() - changedAt);
    }
    console.info(`a moved tag was seen by the other replicas after ${seenAfter.join(" and ")} ms (bound ${CACHE_TTL_MS} ms + polling)`);
  }, 60_000);

  test("garbage collection runs on one replica at a time while pushes go to all; a push racing GC for a blob either keeps it whole or is told the blob is unknown", async () => {
    const { url, replicas } = running();
    // garbage to collect: images whose manifests are deleted (their layers wait for GC at once: gc.delay = 0s)
    const doomed: PushedImage[] = [];
    for (let i = 0; i < 12; i++) doomed.push(await pushImage(url, uniqueName("doomed"), { tag: "x", layerCount: 2 }));
    for (const image of doomed) expectStatus(await call(url, `/v2/${image.repo}/manifests/${image.digest}`, { method: "DELETE" }), 202);
    // while GC runs: the same manifests pushed again (their blobs are what GC is deleting) and fresh images, through HAProxy
    const repushes = Promise.all(doomed.map((image) => putManifest(url, image.repo, "again", image.bytes, image.mediaType)));
    const fresh = (async () => {
      const pushed: PushedImage[] = [];
      for (let i = 0; i < 8; i++) pushed.push(await pushImage(url, uniqueName("fresh"), { tag: "v1", layerCount: 2 }));
      return pushed;
    })();
    const runs = await Promise.all(replicas.map((replica) => call(replica.url, "/api/v1/gc", { method: "POST" })));
    const [again, pushed] = await Promise.all([repushes, fresh]);
    const ran = runs.filter((run) => run.status === 200);
    const refused = runs.filter((run) => run.status === 409);
    expect(ran.length + refused.length).toBe(3);
    expect(ran.length).toBeGreaterThanOrEqual(1);
    for (const run of refused) expect(run.text).toContain("garbage collection is running on replica");
    // one more run after the pushes: nothing they were acknowledged for may go
    expectStatus(await call(replicas[0]?.url ?? url, "/api/v1/gc", { method: "POST" }), 200);
    const whole = async (image: PushedImage) => {
      expectStatus(await call(url, `/v2/${image.repo}/manifests/${image.digest}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 200);
      for (const blob of [image.config, ...image.layers]) {
        const answer = await call(url, `/v2/${image.repo}/blobs/${blob.digest}`);
        expectStatus(answer, 200);
        expect(sha256(new Uint8Array(answer.body))).toBe(blob.digest);
      }
    };
    let kept = 0;
    for (const [i, answer] of again.entries()) {
      const image = doomed[i] as PushedImage;
      if (answer.status === 201) {
        kept++;
        await whole(image);
      } else {
        expect(answer.status).toBe(400);
        expect(answer.text).toContain("MANIFEST_BLOB_UNKNOWN");
      }
    }
    console.info(`${kept} of ${again.length} manifests pushed again during GC kept their blobs; the others were told MANIFEST_BLOB_UNKNOWN`);
    for (const image of pushed) await whole(image);
  }, 240_000);

  test("webhooks: every push through any replica is delivered to the endpoint exactly once", async () => {
    const { url } = running();
    const hooks = receiver as TestReceiver;
    const pushed = await Promise.all(Array.from({ length: 20 }, (_, i) => pushImage(url, `hooked/r${i}`, { tag: "v1" })));
    const deliveriesOf = (image: PushedImage) =>
      hooks.on("/hook").flatMap((request) => eventsOf(request).filter((event) => event.action === "push" && event.target.digest === image.digest && event.target.repository === image.repo));
    await hooks.until(() => pushed.every((image) => deliveriesOf(image).length > 0), 30_000, "a push event for every image");
    await Bun.sleep(3_000); // a second delivery by another replica would come within this
    for (const image of pushed) expect(deliveriesOf(image)).toHaveLength(1);
    const ids = hooks.on("/hook").flatMap((request) => eventsOf(request).map((event) => event.id));
    expect(new Set(ids).size).toBe(ids.length);
    // the admin API shows the same deliveries from every replica
    const listings = await Promise.all(running().replicas.map((replica) => call(replica.url, "/api/webhooks/deliveries?endpoint=ci&status=delivered&limit=1000")));
    for (const listing of listings) {
      expectStatus(listing, 200);
      expect(listing.text).toBe(listings[0]?.text ?? "");
    }
  }, 120_000);

  test("retention runs on one replica at a time while pushes go to all; its runs and undo records are the same from every replica", async () => {
    const { url, replicas } = running();
    for (const tag of ["a", "b", "c"]) {
      await pushImage(url, "ret/app", { tag });
      await Bun.sleep(20); // distinct push times: "most recent" is well defined
    }
    const pushing = Promise.all(Array.from({ length: 6 }, (_, i) => pushImage(url, `other/p${i}`, { tag: "v1" })));
    const runs = await Promise.all(replicas.map((replica) => call(replica.url, "/api/v1/retention/run", { method: "POST" })));
    await pushing;
    for (const run of runs) expect([200, 409]).toContain(run.status);
    expect(runs.some((run) => run.status === 200)).toBe(true);
    for (const run of runs.filter((r) => r.status === 409)) expect(run.text).toContain("a retention run is in progress on replica");
    expect(await tagsOf(url, "ret/app")).toEqual(["c"]);
    const histories = await Promise.all(replicas.map(async (replica) => (await call(replica.url, "/api/v1/retention/runs")).text));
    for (const history of histories) expect(history).toBe(histories[0] as string);
    // the tag a run on one replica removed is restored through another (once its cache has moved on)
    const deadline = Date.now() + CACHE_TTL_MS + 10_000;
    let restored = await call(replicas[2]?.url ?? url, "/api/v1/repositories/ret/app/tags/b/restore", { method: "POST" });
    while (restored.status !== 200 && Date.now() < deadline) {
      await Bun.sleep(200);
      restored = await call(replicas[2]?.url ?? url, "/api/v1/repositories/ret/app/tags/b/restore", { method: "POST" });
    }
    expectStatus(restored, 200);
    expect((await tagsOf(url, "ret/app"))?.sort()).toEqual(["b", "c"]);
  }, 120_000);

  test("kill -9 of one replica during 24 concurrent pushers: every acknowledged image pulls from the others", async () => {
    const { url, replicas } = running();
    const victim = replicas[2];
    if (!victim) throw new Error("three replicas expected");
    const acknowledged: PushedImage[] = [];
    const failures: string[] = [];
    const stopAt = Date.now() + 20_000;
    const pusher = async (n: number) => {
      for (let i = 0; i < 6 && Date.now() < stopAt; i++) {
        try {
          acknowledged.push(await pushImage(url, `crash/p${n}`, { tag: `t${i}`, layerCount: 2 }));
        } catch (error) {
          failures.push(String(error).slice(0, 200)); // a push cut by the kill: not acknowledged
        }
      }
    };
    const victimId = String(JSON.parse((await call(victim.url, "/api/v1/cluster")).text).replica);
    const all = Promise.all(Array.from({ length: 24 }, (_, n) => pusher(n)));
    await Bun.sleep(1_500);
    await victim.kill("SIGKILL");
    const database = new SQL(running().databaseUrl, { max: 1 });
    const leftBy = async () => Number((await database`SELECT count(*) AS n FROM journal WHERE id LIKE ${`${victimId}/%`}`)[0]?.n ?? 0);
    const leftAtKill = await leftBy();
    await all;
    expect(acknowledged.length).toBeGreaterThan(24);
    console.info(`${acknowledged.length} pushes acknowledged, ${failures.length} cut by the kill`);
    for (const image of acknowledged) {
      for (const replica of replicas.slice(0, 2)) {
        const manifest = await call(replica.url, `/v2/${image.repo}/manifests/${image.digest}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
        expectStatus(manifest, 200);
        expect(sha256(new Uint8Array(manifest.body))).toBe(image.digest);
      }
      for (const blob of [image.config, ...image.layers]) {
        const answer = await call(url, `/v2/${image.repo}/blobs/${blob.digest}`);
        expectStatus(answer, 200);
        expect(sha256(new Uint8Array(answer.body))).toBe(blob.digest);
      }
    }
    // what the victim left half done is settled by the others (15 s without a heartbeat, then within 10 s)
    const settleBy = Date.now() + 60_000;
    while ((await leftBy()) > 0 && Date.now() < settleBy) await Bun.sleep(500);
    expect(await leftBy()).toBe(0);
    await database.close();
    console.info(`the killed replica left ${leftAtKill} journal entries; the others settled them`);
    // the victim comes back and serves them too
    await victim.restart();
    const sample = acknowledged[0];
    if (sample) expectStatus(await call(victim.url, `/v2/${sample.repo}/manifests/${sample.digest}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 200);
  }, 300_000);

  test("maintenance mode set through one replica is followed by every replica", async () => {
    const [r0] = running().replicas;
    if (!r0) throw new Error("no replica");
    const on = await call(r0.url, "/api/v1/maintenance", { method: "POST", body: utf8(JSON.stringify({ read_only: true })) });
    expectStatus(on, 200);
    try {
      const deadline = Date.now() + 10_000;
      let all = false;
      while (!all && Date.now() < deadline) {
        const modes = await Promise.all(running().replicas.map(async (replica) => (await call(replica.url, "/api/v1/maintenance")).text));
        all = modes.every((mode) => mode === '{"read_only":true}');
        if (!all) await Bun.sleep(200);
      }
      expect(all).toBe(true);
      const refused = await putManifest(running().replicas[1]?.url ?? r0.url, "team/app", "ro", utf8("{}"), MT.ociManifest);
      expect(refused.status).toBe(503);
    } finally {
      await call(r0.url, "/api/v1/maintenance", { method: "POST", body: utf8(JSON.stringify({ read_only: false })) });
    }
  }, 60_000);
});

describe.skipIf(!available)("scale-out with token auth: three replicas behind HAProxy", () => {
  let cluster: Cluster | null = null;
  let work = "";
  const test = testWithServerLog(() => cluster?.servers() ?? []);

  beforeAll(async () => {
    work = tempDir("berth-scale-out-auth-");
    const htpasswd = join(work, "htpasswd");
    await writeHtpasswd(htpasswd, [{ name: "alice", password: "alice-pass-1" }]);
    cluster = await startCluster({
      replicas: 3,
      env: { BERTH_AUTH_HTPASSWD: htpasswd, BERTH_AUTH_MODE: "token", BERTH_AUTH_ADMINS: "alice", BERTH_AUTH_THROTTLE_FAILURES: "3" },
    });
  }, 300_000);
  afterAll(async () => {
    await cluster?.stop();
    if (work) removeDir(work);
  }, 180_000);

  function running(): Cluster {
    if (!cluster) throw new Error("the cluster did not start");
    return cluster;
  }

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  test("a token from any replica is accepted by every replica; docker login and push through HAProxy", async () => {
    const { url, replicas, host } = running();
    const tokens: string[] = [];
    for (const replica of replicas) {
      const answer = await call(replica.url, "/auth/token?service=berth&scope=repository:team/x:pull,push", { headers: { authorization: basic("alice", "alice-pass-1") } });
      expectStatus(answer, 200);
      const parsed: unknown = JSON.parse(answer.text);
      const token = isRecord(parsed) ? parsed.token : undefined;
      if (typeof token !== "string") throw new Error("no token");
      tokens.push(token);
    }
    for (const token of tokens) {
      for (const replica of replicas) expectStatus(await call(replica.url, "/v2/", { headers: { authorization: `Bearer ${token}` } }), 200);
    }
    const config = join(work, "docker-config");
    const login = await exec(["docker", "--config", config, "login", host, "--username", "alice", "--password-stdin"], { stdin: "alice-pass-1", allowFailure: true });
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    const image = await buildTestImage({ name: "scale-out-auth", text: `auth ${Date.now()}` });
    const ref = `${host}/team/x:v1`;
    try {
      await exec(["docker", "--config", config, "tag", image.id, ref]);
      const pushed = await exec(["docker", "--config", config, "push", ref], { allowFailure: true, timeoutMs: 180_000 });
      expect(pushed.exitCode).toBe(0);
      const anonymous = await call(url, "/v2/team/x/tags/list");
      expect(anonymous.status).toBe(401);
    } finally {
      await removeImage(ref).catch(() => undefined);
      await removeImage(image.id).catch(() => undefined);
    }
  }, 240_000);

  test("failed logins counted on one replica lock the client out on the others", async () => {
    const [r0, r1, r2] = running().replicas;
    if (!r0 || !r1 || !r2) throw new Error("three replicas expected");
    const wrong = basic("alice", "wrong-password");
    // three failures (the limit here), each on another replica
    for (const replica of [r0, r1, r2]) expect((await call(replica.url, "/auth/token?service=berth", { headers: { authorization: wrong } })).status).toBe(401);
    // the shared count is written after each answer: give it a moment (bounded)
    const deadline = Date.now() + 5_000;
    let throttled = false;
    while (!throttled && Date.now() < deadline) {
      // a wrong password probes (a right one would clear the count if it came first)
      const answer = await call(r1.url, "/auth/token?service=berth", { headers: { authorization: wrong } });
      throttled = answer.status === 429;
      if (!throttled) await Bun.sleep(100);
    }
    expect(throttled).toBe(true);
    // now even the right password waits, on a replica that counted one failure itself
    expect((await call(r2.url, "/auth/token?service=berth", { headers: { authorization: basic("alice", "alice-pass-1") } })).status).toBe(429);
  }, 60_000);
});
