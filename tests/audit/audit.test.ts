/**
 * The audit log: pushes, deletes, failed logins and admin calls as JSON lines in [audit] path,
 * rotated by size; GET /api/v1/audit filters them; no password, hash or token is ever in it.
 * Robot and namespace changes (admin API, and `berth robot` / `berth ns` with or without a
 * server) are lines that say who changed what, and whether it worked. A 403 names its reason:
 * the [[access]] rule (or its absence) or the plugin's rule; the client's answer stays as it was.
 */
import { expect } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berthCli, createRobot } from "../helpers/accounts.ts";
import { basicHeader, buildImage, OCI_MANIFEST, pushTestImage, send, startAuthBerth, uploadBlob, writeHtpasswd } from "../helpers/auth.ts";
import { call, pushImage, uniqueName } from "../helpers/oci.ts";
import { removeDir, serverSuite, startBerth, tempDir } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();

function lines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("pushes, deletes and admin calls are audit lines, queryable by repository and time", async () => {
  const berth = await servers.started(startBerth({ env: { BERTH_AUDIT_PATH: "audit.log" } }));
  const path = join(berth.root, "audit.log");
  const since = new Date().toISOString();
  const repo = uniqueName("audit/app");
  const image = await pushImage(berth.url, repo, { tag: "v1" });
  expect((await call(berth.url, `/v2/${repo}/manifests/v1`, { method: "DELETE" })).status).toBe(202);
  expect((await call(berth.url, "/api/v1/gc?dry_run=true", { method: "POST" })).status).toBe(200);
  const written = lines(path);
  const push = written.find((entry) => entry.action === "manifest.push");
  expect(push).toMatchObject({ repository: repo, tag: "v1", result: "ok", status: 201, addr: "127.0.0.1" });
  expect(typeof push?.request_id).toBe("string");
  expect(written.filter((entry) => entry.action === "blob.push").length).toBe(2);
  expect(written.find((entry) => entry.action === "tag.delete")).toMatchObject({ repository: repo, tag: "v1", result: "ok" });
  expect(written.find((entry) => entry.action === "admin.call")).toMatchObject({ method: "POST", path: "/api/v1/gc", status: 200 });

  const byRepo = await call(berth.url, `/api/v1/audit?repository=${repo}&since=${since}`);
  expect(byRepo.status).toBe(200);
  const entries = (JSON.parse(byRepo.text) as { entries: Array<{ action: string; repository?: string }> }).entries;
  expect(entries.map((entry) => entry.action).sort()).toEqual(["blob.push", "blob.push", "manifest.push", "tag.delete"]);
  expect(entries.every((entry) => entry.repository === repo)).toBe(true);
  const future = await call(berth.url, `/api/v1/audit?since=${new Date(Date.now() + 3_600_000).toISOString()}`);
  expect(JSON.parse(future.text)).toEqual({ entries: [] });
  expect((await call(berth.url, "/api/v1/audit?since=yesterday")).status).toBe(400);
  expect(image.digest).toStartWith("sha256:");
});

test("failed logins are recorded with the user name, never the password; the audit API is for admins", async () => {
  const dir = tempDir("berth-audit-auth-");
  cleanups.push(async () => removeDir(dir));
  const berth = await servers.started(
    startAuthBerth({
      root: dir,
      prepare: (root) => writeHtpasswd(join(root, "htpasswd"), [{ name: "admin", password: "admin-secret-pw" }, { name: "bob", password: "bob-secret-pw" }]),
      config: `[auth]\nhtpasswd = "htpasswd"\nmode = "basic"\nadmins = ["admin"]\n\n[audit]\npath = "audit.log"\n\n[[access]]\nrepositories = ["**"]\nusers = ["bob"]\nactions = ["pull"]\n` }),
  );
  expect((await send(berth, "/v2/", { headers: { Authorization: basicHeader("bob", "wrong-password-123") } })).status).toBe(401);
  expect((await send(berth, "/api/v1/audit", { headers: { Authorization: basicHeader("bob", "bob-secret-pw") } })).status).toBe(403);
  const answer = await send(berth, "/api/v1/audit?actor=", { headers: { Authorization: basicHeader("admin", "admin-secret-pw") } });
  expect(answer.status).toBe(200);
  const text = readFileSync(join(dir, "audit.log"), "utf8");
  expect(text).toContain('"action":"login.failed"');
  expect(text).toContain('"user":"bob"');
  expect(text).toContain('"action":"access.denied"');
  for (const secret of ["wrong-password-123", "bob-secret-pw", "admin-secret-pw", "$argon2", "Basic "]) expect(text).not.toContain(secret);
});

test("a 403 names its reason: no rule, the rule that lacks the action, or the plugin's rule; the client sees the same answer", async () => {
  const dir = tempDir("berth-audit-denials-");
  cleanups.push(async () => removeDir(dir));
  const config = [
    `[auth]\nhtpasswd = "htpasswd"\nmode = "basic"\n\n[audit]\npath = "audit.log"\n`,
    `[[access]]\nrepositories = ["prod/**"]\nusers = ["alice"]\nactions = ["pull", "push"]\n`,
    `[[access]]\nrepositories = ["team/**"]\nusers = ["alice"]\nactions = ["pull"]\n`,
    `[[immutable]]\nrepositories = ["prod/**"]\ntags = ["v*"]\n`,
  ].join("\n");
  const berth = await servers.started(
    startAuthBerth({
      root: dir,
      config,
      prepare: (root) => writeHtpasswd(join(root, "htpasswd"), [{ name: "alice", password: "alice-secret-pw" }, { name: "bob", password: "bob-secret-pw" }]),
    }),
  );
  const alice = { Authorization: basicHeader("alice", "alice-secret-pw") };
  const bob = { Authorization: basicHeader("bob", "bob-secret-pw") };
  // bob has no rule: his push stops at its first request
  const bobPush = await pushTestImage(berth, "prod/app", "v1", bob);
  expect(bobPush.status).toBe(403);
  // alice may pull team/**, not push: her manifest PUT is refused by the access layer
  const teamPut = await send(berth, "/v2/team/app/manifests/latest", { method: "PUT", headers: { ...alice, "Content-Type": OCI_MANIFEST }, body: buildImage().manifest });
  expect(teamPut.status).toBe(403);
  expect(JSON.parse(teamPut.text)).toEqual({ errors: [{ code: "DENIED", message: "Requested access to the resource is denied", detail: null }] });
  // prod/app:v1 is immutable: moving it is refused by the retention plugin's before-hook
  expect((await pushTestImage(berth, "prod/app", "v1", alice)).status).toBe(201);
  const other = buildImage();
  for (const blob of [other.config, other.layer]) expect(await uploadBlob(berth, "prod/app", blob, alice)).toBe(201);
  const moved = await send(berth, "/v2/prod/app/manifests/v1", { method: "PUT", headers: { ...alice, "Content-Type": OCI_MANIFEST }, body: other.manifest });
  expect(moved.status).toBe(403);
  // the client's message is the plugin's, as before
  expect(moved.text).toContain("is immutable (immutable rule 1");

  const written = lines(join(dir, "audit.log"));
  const denials = written.filter((entry) => entry.result === "denied");
  const pick = ({ time: _time, request_id: _id, addr: _addr, ...rest }: Record<string, unknown>) => rest;
  expect(denials.map(pick)).toEqual([
    { action: "access.denied", actor: "bob", result: "denied", method: "POST", path: "/v2/prod/app/blobs/uploads/", status: 403, reason: "no [[access]] rule or namespace role grants push on prod/app to bob" },
    { action: "manifest.push", actor: "alice", result: "denied", status: 403, repository: "team/app", tag: "latest", reason: "rule 2 (team/**, users alice) grants pull only" },
    {
      action: "manifest.push",
      actor: "alice",
      result: "denied",
      status: 403,
      repository: "prod/app",
      tag: "v1",
      plugin: "retention",
      reason: expect.stringContaining("tag prod/app:v1 is immutable (immutable rule 1: repositories prod/**, tags v*)"),
    },
  ]);
});

test("the audit file is rotated by size and only `keep` old files stay", async () => {
  const berth = await servers.started(startBerth({ env: { BERTH_AUDIT_PATH: "audit.log", BERTH_AUDIT_MAX_BYTES: "4096", BERTH_AUDIT_KEEP: "2" } }));
  for (let i = 0; i < 40; i++) await call(berth.url, `/api/v1/maintenance`, { method: "POST", body: '{"read_only": false}' });
  const path = join(berth.root, "audit.log");
  expect(existsSync(`${path}.1`)).toBe(true);
  expect(existsSync(`${path}.2`)).toBe(true);
  expect(existsSync(`${path}.3`)).toBe(false);
  expect(readFileSync(path).byteLength).toBeLessThanOrEqual(4096);
  const all = JSON.parse((await call(berth.url, "/api/v1/audit?limit=10000")).text) as { entries: unknown[] };
  expect(all.entries.length).toBeGreaterThan(10);
});

test("robot and namespace changes name who, what and the result, through the API and berth robot / ns; never a secret", async () => {
  const dir = tempDir("berth-audit-accounts-");
  cleanups.push(async () => removeDir(dir));
  const config = `[auth]\nhtpasswd = "htpasswd"\nmode = "basic"\nadmins = ["root"]\n\n[audit]\npath = "audit.log"\n`;
  const secrets: string[] = [];
  const berth = await servers.started(
    startAuthBerth({
      root: dir,
      config,
      prepare: async (root) => {
        await writeHtpasswd(join(root, "htpasswd"), [{ name: "root", password: "root-secret-pw" }, { name: "nina", password: "nina-secret-pw" }]);
        writeFileSync(join(root, "registry.toml"), config);
        // no server yet: the commands work in process, and write the same audit file
        secrets.push(await createRobot(root, "offline-bot", ["--repositories", "team/**", "--actions", "pull"]));
        await berthCli(root, ["ns", "create", "team"]);
      },
    }),
  );
  const json = (user: string, password: string) => ({ Authorization: basicHeader(user, password), "Content-Type": "application/json" });
  const root = json("root", "root-secret-pw");
  const post = (path: string, body: unknown, headers = root) => send(berth, path, { method: "POST", headers, body: JSON.stringify(body) });
  const created = await post("/api/v1/robots", { name: "ci", repositories: ["team/**", "apps/*"], actions: ["pull", "push"], expires: "30d" });
  expect(created.status).toBe(201);
  secrets.push((JSON.parse(created.text) as { secret: string }).secret);
  const rotated = await post("/api/v1/robots/ci/rotate", { grace: "1h" });
  expect(rotated.status).toBe(200);
  secrets.push((JSON.parse(rotated.text) as { secret: string }).secret);
  expect((await post("/api/v1/robots/ci/disable", {})).status).toBe(200);
  expect((await post("/api/v1/robots/ci/enable", {})).status).toBe(200);
  expect((await send(berth, "/api/v1/robots/ci", { method: "DELETE", headers: root })).status).toBe(204);
  expect((await post("/api/v1/namespaces", { name: "apps", anonymous_pull: false })).status).toBe(201);
  expect((await post("/api/v1/namespaces/apps/members", { member: "nina", role: "admin" })).status).toBe(200);
  expect((await post("/api/v1/namespaces/apps/members", { member: "nina", role: "boss" })).status).toBe(400);
  expect((await post("/api/v1/namespaces/apps/anonymous", { enabled: true })).status).toBe(200);
  // nina, apps' admin: a robot of apps, one outside it (refused by the route), and the global list (refused by the access layer)
  const nina = json("nina", "nina-secret-pw");
  const ninaBot = await post("/api/v1/namespaces/apps/robots", { name: "nina-bot", repositories: ["apps/**"], actions: ["pull"] }, nina);
  expect(ninaBot.status).toBe(201);
  secrets.push((JSON.parse(ninaBot.text) as { secret: string }).secret);
  expect((await post("/api/v1/namespaces/apps/robots", { name: "escape", repositories: ["**"], actions: ["pull"] }, nina)).status).toBe(403);
  expect((await post("/api/v1/robots", { name: "escape", repositories: ["**"], actions: ["pull"] }, nina)).status).toBe(403);
  expect((await send(berth, "/api/v1/namespaces/apps/members/nina", { method: "DELETE", headers: root })).status).toBe(200);
  // with the server running, the commands go through its admin socket
  secrets.push(await createRobot(dir, "socket-bot", ["--repositories", "apps/**", "--actions", "pull,push", "--namespace", "apps"]));
  await berthCli(dir, ["ns", "member", "add", "team", "group:ops", "reader"]);
  await berthCli(dir, ["ns", "delete", "apps"]);

  const written = lines(join(dir, "audit.log"));
  const pick = ({ time: _time, request_id: _id, addr: _addr, ...rest }: Record<string, unknown>) => rest;
  const accounts = written.filter((entry) => /^(robot|namespace)\./.test(String(entry.action))).map(pick);
  const socket = "berth:admin-socket";
  expect(accounts).toEqual([
    { action: "robot.create", actor: socket, result: "ok", robot: "offline-bot", namespace: null, repositories: "team/**", actions: "pull", creator: "berth:cli", expires_at: null, method: "POST", path: "/api/v1/robots", status: 201 },
    { action: "namespace.create", actor: socket, result: "ok", namespace: "team", anonymous_pull: false, method: "POST", path: "/api/v1/namespaces", status: 201 },
    expect.objectContaining({ action: "robot.create", actor: "root", result: "ok", robot: "ci", namespace: null, repositories: "team/**,apps/*", actions: "pull,push", creator: "root", status: 201 }),
    expect.objectContaining({ action: "robot.rotate", actor: "root", result: "ok", robot: "ci", path: "/api/v1/robots/ci/rotate" }),
    { action: "robot.disable", actor: "root", result: "ok", robot: "ci", method: "POST", path: "/api/v1/robots/ci/disable", status: 200 },
    { action: "robot.enable", actor: "root", result: "ok", robot: "ci", method: "POST", path: "/api/v1/robots/ci/enable", status: 200 },
    { action: "robot.delete", actor: "root", result: "ok", robot: "ci", method: "DELETE", path: "/api/v1/robots/ci", status: 204 },
    { action: "namespace.create", actor: "root", result: "ok", namespace: "apps", anonymous_pull: false, method: "POST", path: "/api/v1/namespaces", status: 201 },
    { action: "namespace.member.add", actor: "root", result: "ok", namespace: "apps", member: "nina", role: "admin", method: "POST", path: "/api/v1/namespaces/apps/members", status: 200 },
    { action: "namespace.member.add", actor: "root", result: "failed", namespace: "apps", method: "POST", path: "/api/v1/namespaces/apps/members", status: 400 },
    { action: "namespace.anonymous", actor: "root", result: "ok", namespace: "apps", anonymous_pull: true, method: "POST", path: "/api/v1/namespaces/apps/anonymous", status: 200 },
    expect.objectContaining({ action: "robot.create", actor: "nina", result: "ok", robot: "nina-bot", namespace: "apps", repositories: "apps/**", creator: "nina" }),
    expect.objectContaining({ action: "robot.create", actor: "nina", result: "denied", robot: "escape", namespace: "apps", repositories: "**", status: 403, reason: `Repository glob "**" is not inside namespace "apps"` }),
    { action: "namespace.member.remove", actor: "root", result: "ok", namespace: "apps", member: "nina", method: "DELETE", path: "/api/v1/namespaces/apps/members/nina", status: 200 },
    expect.objectContaining({ action: "robot.create", actor: socket, result: "ok", robot: "socket-bot", namespace: "apps", creator: "berth:cli" }),
    expect.objectContaining({ action: "namespace.member.add", actor: socket, result: "ok", namespace: "team", member: "group:ops", role: "reader" }),
    { action: "namespace.delete", actor: socket, result: "ok", namespace: "apps", method: "DELETE", path: "/api/v1/namespaces/apps", status: 204 },
  ]);
  expect(String(accounts[2]?.expires_at)).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect(String(accounts[3]?.previous_secret_valid_until)).toMatch(/^\d{4}-\d\d-\d\dT/);
  // the access layer's refusal, before any route ran, is an admin call denied
  expect(written.map(pick)).toContainEqual({ action: "admin.call", actor: "nina", result: "denied", method: "POST", path: "/api/v1/robots", status: 403, reason: "nina is not in [auth] admins" });
  const http = written.filter((entry) => entry.actor === "root" || entry.actor === "nina");
  expect(http.every((entry) => entry.addr === "127.0.0.1" && typeof entry.request_id === "string" && entry.request_id !== "")).toBe(true);
  const text = readFileSync(join(dir, "audit.log"), "utf8");
  expect(secrets.length).toBe(5);
  for (const secret of [...secrets, "berth_", "root-secret-pw", "nina-secret-pw", "secret_hash"]) expect(text).not.toContain(secret);
}, 120_000);
