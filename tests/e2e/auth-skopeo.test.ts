/**
 * skopeo against Berth over TLS with an htpasswd file written by Apache's `htpasswd -B`:
 * --creds and --cert-dir (the test CA), wrong credentials refused, certificate verification
 * really on; a token expires after [auth] token_ttl; mutual TLS refuses a client without a
 * certificate and serves skopeo with one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, fetchToken, makeTestCa, send, sha256, startAuthBerth, type TestCa } from "../helpers/auth.ts";
import { writeLayout } from "../helpers/layout.ts";
import { exec } from "../helpers/docker.ts";
import { removeDir, tempDir, withServerLog } from "../helpers/server.ts";

const CONFIG = (extraTls: string) => `
[http.tls]
certificate = "tls/server.crt"
key = "tls/server.key"
${extraTls}

[auth]
htpasswd = "auth/htpasswd"
token_ttl = "2s"

[[access]]
repositories = ["team/**"]
users = ["alice"]
actions = ["*"]

[[access]]
repositories = ["team/**"]
users = ["bob"]
actions = ["pull"]
`;

const skopeo = (args: string[]) => exec(["skopeo", "--command-timeout", "60s", ...args], { allowFailure: true, timeoutMs: 90_000 });

let ca: TestCa;
let work = "";

beforeAll(async () => {
  ca = await makeTestCa();
  work = tempDir("berth-skopeo-auth-");
}, 60_000);

afterAll(() => {
  if (ca) removeDir(ca.dir);
  if (work) removeDir(work);
});

/** Puts the server certificate and an htpasswd file made by Apache's htpasswd -B into `dir`. */
async function prepareRoot(dir: string): Promise<void> {
  mkdirSync(join(dir, "tls"));
  mkdirSync(join(dir, "auth"));
  copyFileSync(ca.serverCert, join(dir, "tls/server.crt"));
  copyFileSync(ca.serverKey, join(dir, "tls/server.key"));
  copyFileSync(ca.caCert, join(dir, "tls/client-ca.crt"));
  const file = join(dir, "auth/htpasswd");
  await exec(["htpasswd", "-B", "-b", "-c", file, "alice", "apache-made-1"]);
  await exec(["htpasswd", "-B", "-b", file, "bob", "apache-made-2"]);
  expect(readFileSync(file, "utf8")).toMatch(/^alice:\$2y\$05\$/);
}

describe("skopeo over TLS with an Apache htpasswd file", () => {
  let berth: AuthBerth | undefined;
  let certDir = "";
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 120_000);

  beforeAll(async () => {
    berth = await startAuthBerth({ config: CONFIG(""), prepare: prepareRoot, tls: { ca: ca.caPem } });
    certDir = join(work, "certs");
    mkdirSync(certDir, { recursive: true });
    copyFileSync(ca.caCert, join(certDir, "ca.crt"));
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("skopeo copies in and out with --creds and --cert-dir", async () => {
    const b = berth as AuthBerth;
    const layout = join(work, "layout");
    const { manifestDigest } = writeLayout(layout);
    const dest = `docker://${b.host}/team/skopeo:v1`;
    const copied = await skopeo(["copy", "--dest-creds", "alice:apache-made-1", "--dest-cert-dir", certDir, `oci:${layout}:v1`, dest]);
    expect(copied.stderr).toBe("");
    expect(copied.exitCode).toBe(0);

    const inspect = await skopeo(["inspect", "--raw", "--creds", "bob:apache-made-2", "--cert-dir", certDir, dest]);
    expect(inspect.exitCode).toBe(0);
    expect(sha256(inspect.stdout)).toBe(manifestDigest);

    const back = join(work, "back");
    const out = await skopeo(["copy", "--src-creds", "bob:apache-made-2", "--src-cert-dir", certDir, dest, `oci:${back}:v1`]);
    expect(out.exitCode).toBe(0);
    const index = JSON.parse(readFileSync(join(back, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    expect(index.manifests[0]?.digest).toBe(manifestDigest);
  });

  logged("wrong credentials, a read-only user's push, and an unverified certificate all fail", async () => {
    const b = berth as AuthBerth;
    const dest = `docker://${b.host}/team/skopeo:v1`;
    const wrong = await skopeo(["inspect", "--raw", "--creds", "alice:wrong", "--cert-dir", certDir, dest]);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|invalid username or password/i);

    const layout = join(work, "layout2");
    writeLayout(layout);
    const push = await skopeo(["copy", "--dest-creds", "bob:apache-made-2", "--dest-cert-dir", certDir, `oci:${layout}:v1`, `docker://${b.host}/team/bob:v1`]);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/denied|unauthorized/i);

    // without the CA, the certificate cannot be verified: TLS verification is really on
    const emptyCerts = join(work, "empty-certs");
    mkdirSync(emptyCerts, { recursive: true });
    const untrusted = await skopeo(["inspect", "--raw", "--creds", "alice:apache-made-1", "--cert-dir", emptyCerts, dest]);
    expect(untrusted.exitCode).not.toBe(0);
    expect(untrusted.stderr).toMatch(/x509|certificate signed by unknown authority/i);
  });

  logged("a token stops working after token_ttl", async () => {
    const b = berth as AuthBerth;
    const { token, expires_in } = await fetchToken(b, ["repository:team/skopeo:pull"], { user: "alice", password: "apache-made-1" });
    expect(expires_in).toBe(2);
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/vnd.oci.image.manifest.v1+json" };
    expect((await send(b, "/v2/team/skopeo/manifests/v1", { headers })).status).toBe(200);
    await Bun.sleep(3100);
    const expired = await send(b, "/v2/team/skopeo/manifests/v1", { headers });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(expired.text).toContain("Token has expired");
  });
});

describe("mutual TLS ([http.tls] client_ca)", () => {
  let berth: AuthBerth | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 120_000);

  beforeAll(async () => {
    const client = { ca: ca.caPem, cert: readFileSync(ca.clientCert, "utf8"), key: readFileSync(ca.clientKey, "utf8") };
    berth = await startAuthBerth({ config: CONFIG('client_ca = "tls/client-ca.crt"'), prepare: prepareRoot, tls: client });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("a client without a certificate is refused; skopeo with one gets in", async () => {
    const b = berth as AuthBerth;
    let refused = false;
    try {
      const res = await fetch(`${b.url}/v2/`, { tls: { ca: ca.caPem }, signal: AbortSignal.timeout(10_000) });
      refused = res.status === 0;
    } catch {
      refused = true;
    }
    expect(refused).toBe(true);
    expect((await send(b, "/v2/")).status).toBe(401);

    const certDir = join(work, "mtls-certs");
    mkdirSync(certDir, { recursive: true });
    copyFileSync(ca.caCert, join(certDir, "ca.crt"));
    const noClientCert = await skopeo(["inspect", "--raw", "--creds", "alice:apache-made-1", "--cert-dir", certDir, `docker://${b.host}/team/none:v1`]);
    expect(noClientCert.exitCode).not.toBe(0);
    copyFileSync(ca.clientCert, join(certDir, "client.cert"));
    copyFileSync(ca.clientKey, join(certDir, "client.key"));
    const layout = join(work, "layout-mtls");
    writeLayout(layout);
    const copied = await skopeo(["copy", "--dest-creds", "alice:apache-made-1", "--dest-cert-dir", certDir, `oci:${layout}:v1`, `docker://${b.host}/team/mtls:v1`]);
    expect(copied.exitCode).toBe(0);
  });
});
