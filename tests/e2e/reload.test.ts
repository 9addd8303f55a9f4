/**
 * SIGHUP reloads the users file, access rules, webhook endpoints, http.headers and the TLS
 * certificate without dropping connections; a configuration that fails validation is refused
 * with one log line and the running one stays.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { type AuthBerth, basicHeader, makeTestCa, send, startAuthBerth, type TestCa, uploadBlob, writeHtpasswd } from "../helpers/auth.ts";
import { removeDir, tempDir, waitForOutput, withServerLog } from "../helpers/server.ts";

const config = (options: { bobPushes: boolean; header: string; webhook: string }) => `
[http]
headers = { X-Reload-Test = "${options.header}" }

[http.tls]
certificate = "tls/server.crt"
key = "tls/server.key"

[auth]
htpasswd = "auth/htpasswd"
mode = "basic"

[[access]]
repositories = ["team/**"]
users = ["alice"${options.bobPushes ? ', "bob"' : ""}]
actions = ["*"]

${options.webhook}
`;

/** The SHA-256 fingerprint of the certificate a new TLS connection is shown. */
function presentedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      socket.end();
      resolve(cert.fingerprint256);
    });
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("TLS handshake timed out")));
  });
}

let first: TestCa;
let second: TestCa;
let berth: AuthBerth | undefined;
let root = "";

beforeAll(async () => {
  [first, second] = await Promise.all([makeTestCa(), makeTestCa()]);
  root = tempDir("berth-reload-");
  mkdirSync(join(root, "tls"));
  copyFileSync(first.serverCert, join(root, "tls/server.crt"));
  copyFileSync(first.serverKey, join(root, "tls/server.key"));
  await writeHtpasswd(join(root, "auth/htpasswd"), [
    { name: "alice", password: "alice-pw", algorithm: "bcrypt" },
    { name: "bob", password: "bob-pw", algorithm: "bcrypt" },
  ]);
  berth = await startAuthBerth({ root, config: config({ bobPushes: false, header: "one", webhook: "" }), tls: { ca: first.caPem } });
}, 60_000);

afterAll(async () => {
  await berth?.stop();
  if (root) removeDir(root);
  if (first) removeDir(first.dir);
  if (second) removeDir(second.dir);
});

const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 120_000);

async function hangup(expected: RegExp | string): Promise<void> {
  const b = berth as AuthBerth;
  const before = b.output().length;
  b.proc.kill("SIGHUP");
  const matches = (added: string) => (typeof expected === "string" ? added.includes(expected) : expected.test(added));
  await waitForOutput(b, (output) => matches(output.slice(before)), 10_000);
  expect(b.output().slice(before)).toMatch(expected);
}

describe("SIGHUP", () => {
  logged("applies new rules, users, headers and certificate while an upload streams on an old connection", async () => {
    const b = berth as AuthBerth;
    const bob = { Authorization: basicHeader("bob", "bob-pw") };
    expect(await uploadBlob(b, "team/app", new Uint8Array([1, 2, 3]), bob)).toBe(403);
    expect((await send(b, "/v2/", { headers: { Authorization: basicHeader("carol", "carol-pw") } })).status).toBe(401);
    expect((await send(b, "/v2/")).headers.get("x-reload-test")).toBe("one");
    const oldFingerprint = await presentedCertificate(b.port);

    // an upload whose body is still arriving when the signal comes
    const alice = { Authorization: basicHeader("alice", "alice-pw") };
    const started = await send(b, "/v2/team/app/blobs/uploads/", { method: "POST", headers: alice });
    expect(started.status).toBe(202);
    const location = started.headers.get("location") as string;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(64 * 1024).fill(7));
        await gate;
        controller.enqueue(new Uint8Array(64 * 1024).fill(8));
        controller.close();
      },
    });
    const inFlight = fetch(new URL(location, b.url), { method: "PATCH", headers: { ...alice, "Content-Type": "application/octet-stream" }, body, tls: { ca: first.caPem } });

    copyFileSync(second.serverCert, join(root, "tls/server.crt"));
    copyFileSync(second.serverKey, join(root, "tls/server.key"));
    await writeHtpasswd(join(root, "auth/htpasswd"), [
      { name: "alice", password: "alice-pw", algorithm: "bcrypt" },
      { name: "bob", password: "bob-pw", algorithm: "bcrypt" },
      { name: "carol", password: "carol-pw", algorithm: "bcrypt" },
    ]);
    writeFileSync(join(root, "registry.toml"), config({ bobPushes: true, header: "two", webhook: "" }));
    await hangup("configuration reloaded");
    release();
    const patched = await inFlight;
    expect(patched.status).toBe(202);
    expect(patched.headers.get("range")).toBe(`0-${128 * 1024 - 1}`);

    expect(await presentedCertificate(b.port)).not.toBe(oldFingerprint);
    const renewed = { ...b, tls: { ca: second.caPem } };
    expect(await uploadBlob(renewed, "team/app", new Uint8Array([1, 2, 3]), bob)).toBe(201);
    expect((await send(renewed, "/v2/", { headers: { Authorization: basicHeader("carol", "carol-pw") } })).status).toBe(200);
    expect((await send(renewed, "/v2/")).headers.get("x-reload-test")).toBe("two");
    (berth as AuthBerth).tls = renewed.tls;
  });

  logged("a configuration that fails validation is refused with one line and the running one stays", async () => {
    const b = berth as AuthBerth;
    writeFileSync(join(root, "registry.toml"), config({ bobPushes: false, header: "three", webhook: "[webhook]\nendpoints = 5\n" }));
    await hangup(/reload refused.*\n/);
    const refusals = b.output().split("\n").filter((line) => line.includes("reload refused"));
    expect(refusals).toHaveLength(1);
    expect((await send(b, "/v2/")).headers.get("x-reload-test")).toBe("two");
    expect(await uploadBlob(b, "team/app", new Uint8Array([4, 5, 6]), { Authorization: basicHeader("bob", "bob-pw") })).toBe(201);
  });

  logged("a changed key that needs a restart is named, and the rest applies", async () => {
    const b = berth as AuthBerth;
    writeFileSync(join(root, "registry.toml"), config({ bobPushes: true, header: "four", webhook: "" }) + '\n[limits]\nmax_manifest_bytes = 2048\n');
    await hangup("configuration reloaded");
    await waitForOutput(b, /needs a restart.*limits/);
    expect((await send(b, "/v2/")).headers.get("x-reload-test")).toBe("four");
  });
});
