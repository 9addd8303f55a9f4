/**
 * The admin socket (`<root>/berth/admin.sock`) against the compiled binary: with a server
 * running, `berth gc`, `berth index rebuild`, `berth fsck --repair` and `berth repo delete`
 * ask it, with no credentials even when [auth] is on (while the HTTP admin API still wants
 * them); the socket is 0600 and serves /api/ and /healthz only; it is gone after SIGTERM,
 * replaced after kill -9, and a second server on the root neither starts nor touches it.
 */
import { afterAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { basicHeader, send, startAuthBerth, uploadBlob, writeHtpasswd } from "../helpers/auth.ts";
import { call, pushImage, randomBytes, sha256 } from "../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { RunningServers } from "../helpers/process.ts";
import { removeDir, runBerth, startBerth, tempDir, testWithServerLog, waitForOutput } from "../helpers/server.ts";

const V2 = "docker/registry/v2";
const servers = new RunningServers();
const test = testWithServerLog(() => servers.list());
const roots: string[] = [];
const databases: TestDatabase[] = [];
afterAll(async () => {
  await servers.stopAll();
  for (const root of roots.splice(0)) removeDir(root);
  for (const database of databases.splice(0)) await database.drop();
});

/** A temp dir removed after the file (the servers on it stopped first). */
function ownRoot(prefix: string): string {
  const root = tempDir(prefix);
  roots.push(root);
  return root;
}

function socketOf(storageRoot: string): string {
  return join(storageRoot, "berth/admin.sock");
}

/** A request on the admin socket, as a process of the server's user makes it. */
async function onSocket(storageRoot: string, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://berth${path}`, { method, unix: socketOf(storageRoot), signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.text() };
}

const AUTH_CONFIG = `
[auth]
htpasswd = "htpasswd"
admins = ["root"]
mode = "basic"

[gc]
delay = "0s"
`;

describe("with [auth] on", () => {
  test("berth gc --dry-run and berth gc run through the socket with no credentials; POST /api/v1/gc over HTTP without them is 401", async () => {
    const dir = ownRoot("berth-admin-auth-");
    const data = join(dir, "data");
    const berth = await servers.started(
      startAuthBerth({ root: dir, config: AUTH_CONFIG, prepare: (root) => writeHtpasswd(join(root, "htpasswd"), [{ name: "root", password: "root-pw", algorithm: "bcrypt" }]) }),
    );
    const admin = { Authorization: basicHeader("root", "root-pw") };
    const loose = randomBytes(300);
    expect(await uploadBlob(berth, "team/loose", loose, admin)).toBe(201); // nothing references it: GC takes it (delay 0)
    const digest = sha256(loose);

    expect((await send(berth, "/api/v1/gc", { method: "POST" })).status).toBe(401);
    expect((await send(berth, "/api/v1/gc?dry_run=true", { method: "POST" })).status).toBe(401);

    const cli = (args: string[]) => runBerth([...args, "--config", join(dir, "registry.toml")], { env: { BERTH_STORAGE_ROOT: data }, timeoutMs: 60_000 });
    const dry = await cli(["gc", "--dry-run"]);
    expect(dry.stderr).toContain(`asking it through ${socketOf(data)}`);
    expect(dry.stdout).toContain(`would delete blob ${digest} (300 bytes)`);
    expect(dry.stdout).toContain("would delete 1 blobs (300 bytes freed)");
    expect(dry.code).toBe(0);
    expect((await send(berth, `/v2/team/loose/blobs/${digest}`, { method: "HEAD", headers: admin })).status).toBe(200);

    const run = await cli(["gc"]);
    expect(run.stdout).toContain(`deleted blob ${digest} (300 bytes)`);
    expect(run.stdout).toContain("deleted 1 blobs (300 bytes freed)");
    expect(run.code).toBe(0);
    expect((await send(berth, `/v2/team/loose/blobs/${digest}`, { method: "HEAD", headers: admin })).status).toBe(404);
    // the access log names who asked: the operator, through the socket
    expect(berth.output()).toMatch(/method=POST path=\/api\/v1\/gc status=200 .*actor=berth:admin-socket/);

    const status = await onSocket(data, "/api/v1/gc"); // the admin API's reads too, without credentials
    expect(status.status).toBe(200);
    expect((await send(berth, "/api/v1/gc")).status).toBe(401);
    await servers.stopped(berth);
  }, 120_000);
});

describe("the socket file", () => {
  test("is 0600, owned by the server's user, serves /api/ and /healthz but not /v2/ (after SIGHUP too), and is gone after SIGTERM", async () => {
    const root = ownRoot("berth-admin-file-");
    const berth = await servers.started(startBerth({ root }));
    await pushImage(berth.url, "team/app", { tag: "v1" });
    const stat = statSync(socketOf(root));
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.uid).toBe(process.getuid?.() ?? stat.uid);
    expect(statSync(join(root, "berth")).mode & 0o777).toBe(0o700);
    expect(berth.output()).toContain(`admin_socket=${socketOf(root)}`);

    expect((await onSocket(root, "/healthz")).status).toBe(200);
    for (const path of ["/v2/", "/v2/_catalog", "/v2/team/app/tags/list", "/auth/token", "/"]) {
      const answer = await onSocket(root, path);
      expect(answer.status).toBe(404);
      expect(answer.body).toContain("The admin socket serves /api/ and /healthz only");
    }
    expect((await onSocket(root, "/v2/team/app/manifests/v1", "DELETE")).status).toBe(404);
    expect((await call(berth.url, "/v2/team/app/tags/list")).status).toBe(200); // still there

    berth.proc.kill("SIGHUP"); // the reloaded app answers the socket too
    await waitForOutput(berth, "configuration reloaded");
    expect(berth.output()).toContain("configuration reloaded");
    expect((await onSocket(root, "/api/v1/gc")).status).toBe(200);
    expect((await onSocket(root, "/v2/")).status).toBe(404);

    await servers.stopped(berth);
    expect(existsSync(socketOf(root))).toBe(false);
  }, 60_000);

  test("a socket left by kill -9 is replaced at the next start; a second serve on the root is refused and leaves the first's socket alone", async () => {
    const root = ownRoot("berth-admin-stale-");
    const env = { BERTH_STORAGE_ROOT: root };
    const first = await servers.started(startBerth({ root }));
    await first.kill9();
    await servers.stopped(first); // nothing left to stop; forgets it
    expect(existsSync(socketOf(root))).toBe(true); // the stale file
    const stale = await runBerth(["gc", "--dry-run"], { env });
    expect(stale.code).toBe(0); // no server: the command locks the root and runs here
    expect(stale.stderr).not.toContain("asking it");

    const berth = await servers.started(startBerth({ root }));
    const before = statSync(socketOf(root));
    const asked = await runBerth(["gc", "--dry-run"], { env });
    expect(asked.stderr).toContain("asking it through");
    expect(asked.stdout).toContain("would delete 0 blobs");
    expect(asked.code).toBe(0);

    const second = await runBerth(["serve"], { env: { ...env, BERTH_HTTP_ADDR: "127.0.0.1:0" }, timeoutMs: 30_000 });
    expect(second.code).not.toBe(0);
    expect(second.stderr + second.stdout).toContain("in use by another Berth process");
    const after = statSync(socketOf(root));
    expect([after.ino, after.ctimeMs, after.mode]).toEqual([before.ino, before.ctimeMs, before.mode]);
    expect((await runBerth(["gc", "--dry-run"], { env })).code).toBe(0); // the first still answers on it

    await servers.stopped(berth);
    expect(existsSync(socketOf(root))).toBe(false);
  }, 90_000);

  test("a command says what is wrong when the holder of the root does not answer on the socket", async () => {
    const root = ownRoot("berth-admin-gone-");
    const berth = await servers.started(startBerth({ root }));
    removeDir(socketOf(root)); // as with a server older than the socket, or one still starting
    const gc = await runBerth(["gc"], { env: { BERTH_STORAGE_ROOT: root } });
    expect(gc.code).toBe(1);
    expect(gc.stderr).toContain(`does not answer on ${socketOf(root)} (ENOENT)`);
    await servers.stopped(berth);
  }, 60_000);
});

describe.each(metadataBackends())("maintenance commands beside a running server (%s)", (backend) => {
  test("berth index rebuild and berth fsck --repair are done by the server while it serves", async () => {
    const root = ownRoot("berth-admin-index-");
    const env: Record<string, string> = { BERTH_STORAGE_ROOT: root };
    if (backend === "postgres") {
      const database = await createTestDatabase("berth_admin_socket");
      databases.push(database);
      env.BERTH_METADATA_URL = database.url;
    }
    const berth = await servers.started(startBerth({ root, env }));
    const image = await pushImage(berth.url, "shop/web", { tag: "v1" });
    await pushImage(berth.url, "shop/api", { tag: "v1" });

    const rebuilt = await runBerth(["index", "rebuild"], { env, timeoutMs: 60_000 });
    expect(rebuilt.stderr).toContain("asking it through");
    expect(rebuilt.stderr).toContain("index rebuild: done");
    expect(rebuilt.stdout).toContain(`index rebuilt for ${root}: 2 repositories, 2 manifests`);
    expect(rebuilt.code).toBe(0);
    expect(berth.output()).toMatch(/method=POST path=\/api\/v1\/index\/rebuild status=200 .*actor=berth:admin-socket/);
    expect((await call(berth.url, "/v2/_catalog")).status).toBe(200);

    // a tag written behind Berth's back: fsck finds it; --repair has the server rebuild its index
    const link = join(root, `${V2}/repositories/shop/web/_manifests/tags/sneaky/current/link`);
    mkdirSync(dirname(link), { recursive: true });
    writeFileSync(link, image.digest);
    const found = await runBerth(["fsck"], { env, timeoutMs: 60_000 });
    expect(found.stdout).toContain("tag sneaky");
    expect(found.code).toBe(1);
    const repaired = await runBerth(["fsck", "--repair"], { env, timeoutMs: 60_000 });
    expect(repaired.stdout).toContain("repaired 1 difference(s): the server rebuilt its index from the storage");
    expect(repaired.code).toBe(0);
    const clean = await runBerth(["fsck"], { env, timeoutMs: 60_000 });
    expect(clean.stdout).toContain("fsck: clean");
    expect(clean.code).toBe(0);
    await servers.stopped(berth);
  }, 120_000);

});

describe("berth repo delete beside a running server", () => {
  test("berth repo delete asks the server (DELETE /api/v1/repositories/NAME): a missing repository is reported, a real one leaves catalog and tree", async () => {
    const root = ownRoot("berth-admin-repo-");
    const berth = await servers.started(startBerth({ root }));
    const missing = await runBerth(["repo", "delete", "nobody/here"], { env: { BERTH_STORAGE_ROOT: root } });
    expect(missing.stderr).toContain("asking it through");
    expect(missing.stderr).toContain("404");
    expect(missing.stderr).toContain("nobody/here");
    expect(missing.code).toBe(1);
    await waitForOutput(berth, "path=/api/v1/repositories/nobody/here");
    expect(berth.output()).toMatch(/method=DELETE path=\/api\/v1\/repositories\/nobody\/here status=404 .*actor=berth:admin-socket/);

    const kept = await pushImage(berth.url, "team/kept", { tag: "v1" });
    await pushImage(berth.url, "team/gone", { tag: "v1" });
    const deleted = await runBerth(["repo", "delete", "team/gone"], { env: { BERTH_STORAGE_ROOT: root } });
    expect(deleted.stdout).toContain("deleted repository team/gone");
    expect(deleted.code).toBe(0);
    expect(JSON.parse((await call(berth.url, "/v2/_catalog")).text)).toEqual({ repositories: ["team/kept"] });
    expect((await call(berth.url, "/v2/team/gone/tags/list")).status).toBe(404);
    expect((await call(berth.url, `/v2/team/kept/manifests/${kept.digest}`)).status).toBe(200);
    expect(existsSync(join(root, V2, "repositories/team/gone/_manifests"))).toBe(false);
    await servers.stopped(berth);
  }, 60_000);
});
