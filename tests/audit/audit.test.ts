/**
 * The audit log: pushes, deletes, failed logins and admin calls as JSON lines in [audit] path,
 * rotated by size; GET /api/v1/audit filters them; no password, hash or token is ever in it.
 */
import { expect } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { basicHeader, send, startAuthBerth, writeHtpasswd } from "../helpers/auth.ts";
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
