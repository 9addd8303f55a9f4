/**
 * Berth as a drop-in for registry:2: the tutorials' complete config.yml (TLS + htpasswd +
 * delete + headers + health + schema1) starts as it is, paths adjusted, and skopeo pushes,
 * pulls and deletes through it with an `htpasswd -Bbn` user; the tutorials' REGISTRY_*
 * variables alone do the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, makeTestCa, startAuthBerth, type TestCa } from "../helpers/auth.ts";
import { exec } from "../helpers/docker.ts";
import { writeLayout } from "../helpers/layout.ts";
import { removeDir, tempDir, withServerLog } from "../helpers/server.ts";

const TUTORIAL = readFileSync(join(import.meta.dir, "../fixtures/registry2-config.yml"), "utf8");
const skopeo = (args: string[]) => exec(["skopeo", "--command-timeout", "60s", ...args], { allowFailure: true, timeoutMs: 90_000 });

let ca: TestCa;
let work = "";
let certDir = "";

beforeAll(async () => {
  ca = await makeTestCa();
  work = tempDir("berth-dropin-");
  certDir = join(work, "client-certs");
  mkdirSync(certDir);
  copyFileSync(ca.caCert, join(certDir, "ca.crt"));
}, 60_000);

afterAll(() => {
  if (ca) removeDir(ca.dir);
  if (work) removeDir(work);
});

/** certs/domain.{crt,key} and auth/htpasswd (from `htpasswd -Bbn`) under a fresh directory in `work`. */
async function tutorialFiles(name: string): Promise<string> {
  const dir = join(work, name);
  mkdirSync(join(dir, "certs"), { recursive: true });
  mkdirSync(join(dir, "auth"));
  copyFileSync(ca.serverCert, join(dir, "certs/domain.crt"));
  copyFileSync(ca.serverKey, join(dir, "certs/domain.key"));
  const line = await exec(["htpasswd", "-Bbn", "testuser", "testpassword"]);
  writeFileSync(join(dir, "auth/htpasswd"), line.stdout.trim() + "\n");
  return dir;
}

async function pushPullDelete(berth: AuthBerth, repository: string): Promise<void> {
  const layout = join(work, `layout-${repository.replaceAll("/", "-")}`);
  writeLayout(layout);
  const dest = `docker://${berth.host}/${repository}:v1`;
  const creds = "testuser:testpassword";
  const push = await skopeo(["copy", "--dest-creds", creds, "--dest-cert-dir", certDir, `oci:${layout}:v1`, dest]);
  expect(push.stderr).toBe("");
  expect(push.exitCode).toBe(0);
  const anonymous = await fetch(`${berth.url}/v2/${repository}/tags/list`, { tls: { ca: ca.caPem } });
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="Registry Realm"');
  const pull = await skopeo(["copy", "--src-creds", creds, "--src-cert-dir", certDir, dest, `oci:${join(work, `back-${repository.replaceAll("/", "-")}`)}:v1`]);
  expect(pull.exitCode).toBe(0);
  const removed = await skopeo(["delete", "--creds", creds, "--cert-dir", certDir, dest]);
  expect(removed.stderr).toBe("");
  expect(removed.exitCode).toBe(0);
  const gone = await skopeo(["inspect", "--raw", "--creds", creds, "--cert-dir", certDir, dest]);
  expect(gone.exitCode).not.toBe(0);
}

describe("registry:2's complete example config.yml", () => {
  let berth: AuthBerth | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 120_000);

  beforeAll(async () => {
    const dir = await tutorialFiles("file");
    const config = TUTORIAL.replace("/var/lib/registry", join(dir, "registry"))
      .replace("/certs/domain.crt", join(dir, "certs/domain.crt"))
      .replace("/certs/domain.key", join(dir, "certs/domain.key"))
      .replace("/auth/htpasswd", join(dir, "auth/htpasswd"));
    // the file listens on :5000; tests bind loopback, so the address alone comes from a variable
    berth = await startAuthBerth({
      root: dir,
      config,
      configName: "config.yml",
      placedByConfig: true,
      env: { BERTH_HTTP_ADDR: "127.0.0.1:0" },
      tls: { ca: ca.caPem },
    });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("starts as it is, logging one line per key that has no effect", async () => {
    const output = (berth as AuthBerth).output();
    for (const key of ["version", "log.fields", "storage.cache", "storage.filesystem.maxthreads", "health", "compatibility"]) {
      expect(output).toContain(`registry:2 key ${key} is accepted and has no effect`);
    }
  });

  logged("skopeo pushes, pulls and deletes as the htpasswd user; data lands in rootdirectory", async () => {
    const b = berth as AuthBerth;
    await pushPullDelete(b, "tutorial/app");
    expect(existsSync(join(b.root, "registry/docker/registry/v2/repositories/tutorial/app/_layers"))).toBe(true);
  });

  logged("http.headers from the file are on every response", async () => {
    const b = berth as AuthBerth;
    const res = await fetch(`${b.url}/v2/`, { tls: { ca: ca.caPem } });
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("the tutorials' REGISTRY_* variables, no file", () => {
  let berth: AuthBerth | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 120_000);

  beforeAll(async () => {
    const dir = await tutorialFiles("variables");
    berth = await startAuthBerth({
      root: dir,
      config: "",
      placedByConfig: true,
      env: {
        REGISTRY_HTTP_ADDR: "127.0.0.1:0",
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir, "registry"),
        REGISTRY_STORAGE_DELETE_ENABLED: "true",
        REGISTRY_HTTP_TLS_CERTIFICATE: join(dir, "certs/domain.crt"),
        REGISTRY_HTTP_TLS_KEY: join(dir, "certs/domain.key"),
        REGISTRY_AUTH: "htpasswd",
        REGISTRY_AUTH_HTPASSWD_REALM: "Registry Realm",
        REGISTRY_AUTH_HTPASSWD_PATH: join(dir, "auth/htpasswd"),
      },
      tls: { ca: ca.caPem },
    });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("skopeo pushes, pulls and deletes as the htpasswd user", async () => {
    await pushPullDelete(berth as AuthBerth, "env/app");
  });
});
