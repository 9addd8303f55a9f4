/**
 * The storage root as the process sees it: /healthz tells the truth about it, one process
 * serves it at a time, temp files left by crashes are swept, and stored data is not
 * world-readable.
 */
import { afterEach, describe, expect } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, expectError, expectStatus, listTree, pushImage, show, waitFor, type Resp } from "../helpers/oci.ts";
import { removeDir, runBerth, startBerth, tempDir, testWithServerLog, type BerthProcess } from "../helpers/server.ts";

const running: BerthProcess[] = [];
const dirs: string[] = [];
const test = testWithServerLog(() => running);

afterEach(async () => {
  for (const berth of running.splice(0)) await berth.stop();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function fresh(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
}

async function started(options: Parameters<typeof startBerth>[0] = {}): Promise<BerthProcess> {
  const berth = await startBerth(options);
  running.push(berth);
  return berth;
}

interface Health {
  status: string;
  checks: Record<string, string>;
}

function healthOf(res: Resp): Health {
  const body: unknown = JSON.parse(res.text);
  if (typeof body !== "object" || body === null || !("status" in body) || !("checks" in body)) throw new Error(`not a health report: ${res.text}`);
  const { status, checks } = body as { status: unknown; checks: unknown };
  if (typeof status !== "string" || typeof checks !== "object" || checks === null) throw new Error(`not a health report: ${res.text}`);
  return { status, checks: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, String(v)])) };
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(4, "0");
}

describe("/healthz", () => {
  test("answers 200 with every check ok", async () => {
    const berth = await started();
    const res = await call(berth.url, "/healthz");
    expectStatus(res, 200);
    expect(healthOf(res)).toEqual({ status: "ok", checks: { storage_root: "ok", storage_writable: "ok" } });
  });

  test("names storage_root when the root was moved away or replaced, and nothing recreates it", async () => {
    const parent = fresh("berth-moved-");
    const root = join(parent, "root");
    mkdirSync(root);
    const berth = await started({ root });
    await pushImage(berth.url, "moved/app", { tag: "v1" });

    renameSync(root, `${root}.away`);
    const gone = await call(berth.url, "/healthz");
    expectStatus(gone, 503);
    expect(healthOf(gone).status).toBe("unhealthy");
    expect(healthOf(gone).checks.storage_root, show(gone)).toContain("missing");
    // writes answer 503 and do not bring the root back empty
    expectError(await call(berth.url, "/v2/moved/app/blobs/uploads/", { method: "POST" }), 503, "UNKNOWN");
    expectError(await call(berth.url, "/v2/other/blobs/uploads/?digest=sha256:" + "0".repeat(64), { method: "POST", body: "x" }), 503, "UNKNOWN");
    expect(existsSync(root), "Berth recreated the storage root").toBe(false);

    // an empty directory made in its place is not the root Berth started on
    mkdirSync(root);
    const replaced = await call(berth.url, "/healthz");
    expectStatus(replaced, 503);
    expect(healthOf(replaced).checks.storage_root, show(replaced)).toContain("not the directory Berth started on");
    expectError(await call(berth.url, "/v2/moved/app/blobs/uploads/", { method: "POST" }), 503, "UNKNOWN");
    expect(listTree(root), "Berth wrote into the replacement").toEqual([]);

    rmdirSync(root);
    renameSync(`${root}.away`, root);
    const back = await call(berth.url, "/healthz");
    expectStatus(back, 200);
    expectStatus(await call(berth.url, "/v2/moved/app/manifests/v1"), 200);
  });
});

describe("one process per storage root", () => {
  test("a second serve on the same root refuses to start with one line naming the PID that holds it", async () => {
    const first = await started();
    const second = await runBerth(["serve"], {
      cwd: first.root,
      env: { BERTH_HTTP_ADDR: "127.0.0.1:0", BERTH_STORAGE_ROOT: first.root },
      timeoutMs: 15_000,
    });
    expect(second.timedOut, "the second process should exit").toBe(false);
    expect(second.code).not.toBe(0);
    const stderr = second.stderr.trim();
    expect(stderr.split("\n"), stderr).toHaveLength(1);
    expect(stderr).toContain(`PID ${first.proc.pid}`);
    expect(stderr).toContain(first.root);
    // the first one is unaffected
    expectStatus(await call(first.url, "/healthz"), 200);
  });

  test("a lock left by a process killed with SIGKILL does not block a restart", async () => {
    const root = fresh("berth-stale-lock-");
    const first = await startBerth({ root });
    await pushImage(first.url, "stale/app", { tag: "v1" });
    await first.kill9();
    expect(readFileSync(join(root, "berth/lock"), "utf8").trim(), "the lock file still names the dead process").toBe(String(first.proc.pid));
    const second = await started({ root });
    expectStatus(await call(second.url, "/v2/stale/app/manifests/v1"), 200);
    expect(readFileSync(join(root, "berth/lock"), "utf8").trim()).toBe(String(second.proc.pid));
  });
});

describe("temp files left by crashes", () => {
  const twoHoursAgo = () => new Date(Date.now() - 2 * 3600_000);

  function plant(path: string, mtime?: Date): string {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "half a write");
    if (mtime) utimesSync(path, mtime, mtime);
    return path;
  }

  test("old ones are swept at start and periodically; fresh ones stay", async () => {
    const root = fresh("berth-sweep-");
    const layers = join(root, "docker/registry/v2/repositories/sweep/app/_layers/sha256/ab");
    const oldLink = plant(join(layers, ".link.tmp-1-1"), twoHoursAgo());
    const oldState = plant(join(root, "berth/referrers/sweep/.x.tmp-99999-7"), twoHoursAgo());
    const oldKey = plant(join(root, "berth/auth/.token-key.jwk.1.1700000000000.tmp"), twoHoursAgo());
    const freshLink = plant(join(layers, ".link.tmp-1-2"));
    const notTemp = plant(join(layers, "link"), twoHoursAgo());
    const berth = await started({ root, env: { BERTH_STORAGE_UPLOADS_PURGE_INTERVAL: "1s" } });

    const swept = await waitFor(async () => ![oldLink, oldState, oldKey].some(existsSync), 5_000, 50);
    expect(swept, `left: ${[oldLink, oldState, oldKey].filter(existsSync).join(", ")}`).toBe(true);
    expect(existsSync(freshLink), "a fresh temp file may belong to a write in progress").toBe(true);
    expect(existsSync(notTemp), "only temp files are swept").toBe(true);

    // periodically too, not only at start
    const later = plant(join(root, "docker/registry/v2/blobs/sha256/cd/.data.tmp-1-3"), twoHoursAgo());
    expect(await waitFor(async () => !existsSync(later), 5_000, 50), "the periodic sweep left an old temp file").toBe(true);
    expect(existsSync(freshLink)).toBe(true);
    expectStatus(await call(berth.url, "/healthz"), 200);
  });
});

describe("permissions of stored data", () => {
  function webhookConfig(dir: string, extra = ""): string {
    const path = join(dir, "registry.toml");
    writeFileSync(path, `${extra}\n[[webhook.endpoints]]\nname = "ci"\nurl = "http://127.0.0.1:9/hook"\n`);
    return path;
  }

  test("files are 0640, directories 0750, and Berth's own state 0600 by default", async () => {
    const dir = fresh("berth-modes-");
    const root = join(dir, "data"); // made by Berth
    const berth = await started({ root: dir, env: { BERTH_STORAGE_ROOT: root }, args: ["serve", "--config", webhookConfig(dir)] });
    const image = await pushImage(berth.url, "modes/app", { tag: "v1" });
    const v2 = join(root, "docker/registry/v2");
    const hex = image.digest.slice("sha256:".length);
    const layerHex = image.layers[0]?.digest.slice("sha256:".length) ?? "";
    expect(modeOf(root)).toBe("0750");
    expect(modeOf(join(v2, `blobs/sha256/${hex.slice(0, 2)}/${hex}/data`))).toBe("0640");
    expect(modeOf(join(v2, `blobs/sha256/${layerHex.slice(0, 2)}/${layerHex}/data`))).toBe("0640");
    expect(modeOf(join(v2, `blobs/sha256/${hex.slice(0, 2)}/${hex}`))).toBe("0750");
    expect(modeOf(join(v2, "repositories/modes/app/_manifests/tags/v1/current/link"))).toBe("0640");
    expect(modeOf(join(v2, "repositories/modes/app/_manifests/tags/v1/current"))).toBe("0750");
    expect(modeOf(join(v2, `repositories/modes/app/_layers/sha256/${layerHex}/link`))).toBe("0640");
    // Berth's state
    expect(modeOf(join(root, "berth"))).toBe("0700");
    expect(modeOf(join(root, "berth/lock"))).toBe("0600");
    expect(modeOf(join(root, "berth/plugins/webhook"))).toBe("0700");
    expect(modeOf(join(root, "berth/plugins/webhook/queue.db"))).toBe("0600");
    for (const suffix of ["-wal", "-shm"]) {
      const path = join(root, `berth/plugins/webhook/queue.db${suffix}`);
      if (existsSync(path)) expect(modeOf(path), path).toBe("0600");
    }
    // nothing anywhere is readable by others
    const open = ["", ...listTree(root)].filter((path) => (statSync(join(root, path)).mode & 0o007) !== 0);
    expect(open).toEqual([]);
  });

  test("the token signing key is 0600", async () => {
    const dir = fresh("berth-modes-key-");
    const root = join(dir, "root");
    mkdirSync(root);
    writeFileSync(join(dir, "users"), "");
    const config = join(dir, "registry.toml");
    writeFileSync(config, `[auth]\nhtpasswd = "users"\nmode = "token"\n`);
    await started({ root, args: ["serve", "--config", config] });
    expect(modeOf(join(root, "berth/auth/token-key.jwk"))).toBe("0600");
    expect(modeOf(join(root, "berth"))).toBe("0700");
  });

  test("storage.mode changes the modes of data files and directories", async () => {
    const dir = fresh("berth-modes-custom-");
    const root = join(dir, "root");
    mkdirSync(root);
    const berth = await started({ root, env: { BERTH_STORAGE_MODE: "0600" } });
    const image = await pushImage(berth.url, "modes/private", { tag: "v1" });
    const hex = image.digest.slice("sha256:".length);
    const blobDir = join(root, `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}`);
    expect(modeOf(join(blobDir, "data"))).toBe("0600");
    expect(modeOf(blobDir)).toBe("0700");
  });

  test("a storage.mode that is not a file mode Berth can use stops start-up naming the key", async () => {
    for (const mode of ["0755", "0440", "rw-r-----", "640x"]) {
      const check = await runBerth(["config", "check"], { cwd: fresh("berth-modes-check-"), env: { BERTH_STORAGE_MODE: mode }, timeoutMs: 15_000 });
      expect(check.timedOut, mode).toBe(false);
      expect(check.code, mode).not.toBe(0);
      expect(check.stderr, mode).toContain("storage.mode");
    }
  });
});
