/**
 * A real Berth process with authentication on: failed-login throttling, the token endpoint's
 * edges, mounts without read access, /api/ for admins only, security headers, and the
 * messages that stop start-up when the set-up cannot work.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AuthBerth,
  basicHeader,
  buildImage,
  fetchToken,
  pushTestImage,
  send,
  sha256,
  snapshot,
  startAuthBerth,
  uploadBlob,
  writeHtpasswd,
} from "../helpers/auth.ts";
import { removeDir, runBerth, tempDir, waitForOutput, withServerLog } from "../helpers/server.ts";

const CONFIG = `
[auth]
htpasswd = "htpasswd"
admins = ["root"]

[auth.throttle]
failures = 3
lockout = "1m"

[[access]]
repositories = ["team/**"]
users = ["alice", "bob"]
actions = ["pull", "push"]

[[access]]
repositories = ["secret/**"]
users = ["bob"]
actions = ["pull", "push"]
`;

describe("authentication on a running server", () => {
  let berth: AuthBerth | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 60_000);
  const b = () => berth as AuthBerth;

  beforeAll(async () => {
    const users = [
      { name: "root", password: "root-pw", algorithm: "bcrypt" as const },
      { name: "alice", password: "alice-pw", algorithm: "bcrypt" as const },
      { name: "bob", password: "bob-pw", algorithm: "bcrypt" as const },
      { name: "mallory", password: "mallory-pw", algorithm: "bcrypt" as const },
    ];
    berth = await startAuthBerth({ config: CONFIG, prepare: (root) => writeHtpasswd(join(root, "htpasswd"), users) });
  }, 30_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("repeated wrong passwords get 429 with Retry-After while another user still logs in", async () => {
    const wrong = { Authorization: basicHeader("mallory", "guess") };
    for (let i = 0; i < 3; i++) expect((await send(b(), "/v2/", { headers: wrong })).status).toBe(401);
    const locked = await send(b(), "/v2/", { headers: wrong });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect(JSON.parse(locked.text).errors[0].code).toBe("TOOMANYREQUESTS");
    // even the right password waits out the lockout, on /v2/ and on the token service
    expect((await send(b(), "/v2/", { headers: { Authorization: basicHeader("mallory", "mallory-pw") } })).status).toBe(429);
    expect((await send(b(), "/auth/token?service=berth", { headers: { Authorization: basicHeader("mallory", "mallory-pw") } })).status).toBe(429);
    // other users are not slowed down
    expect((await send(b(), "/v2/", { headers: { Authorization: basicHeader("alice", "alice-pw") } })).status).toBe(200);
    expect((await fetchToken(b(), [], { user: "bob", password: "bob-pw" })).token).toBeTruthy();
    expect(await waitForOutput(b(), "login failed user=mallory")).toContain("login failed user=mallory");
    expect(await waitForOutput(b(), "login throttled user=mallory")).toContain("login throttled user=mallory");
  });

  logged("guesses sent in parallel are throttled like guesses sent one after another", async () => {
    const wrong = { Authorization: basicHeader("trudy", "guess") };
    const replies = await Promise.all(Array.from({ length: 20 }, () => send(b(), "/v2/", { headers: wrong })));
    const statuses = replies.map((reply) => reply.status);
    // checks in flight count: exactly [auth.throttle] failures guesses are checked, whatever the timing
    expect(statuses.filter((status) => status === 401).length).toBe(3);
    expect(statuses.filter((status) => status === 429).length).toBe(17);
    expect((await send(b(), "/v2/", { headers: { Authorization: basicHeader("alice", "alice-pw") } })).status).toBe(200);
  });

  logged("a token request body over 64 KiB is refused with 413 before it is read whole", async () => {
    const body = `grant_type=password&username=alice&password=${"x".repeat(200 * 1024)}`;
    const reply = await send(b(), "/auth/token", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.text).errors[0].code).toBe("SIZE_INVALID");
  });

  logged("credentials that cannot be read get 401, never an anonymous token", async () => {
    const garbled = await send(b(), "/auth/token?service=berth", { headers: { Authorization: "Basic ////" } });
    expect(garbled.status).toBe(401);
    const form = new URLSearchParams({ grant_type: "password", username: "alice", service: "berth" });
    const noPassword = await send(b(), "/auth/token", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() });
    expect(noPassword.status).toBe(401);
  });

  logged("the token service: POST password grant, unknown service, bad credentials", async () => {
    const form = new URLSearchParams({ grant_type: "password", username: "alice", password: "alice-pw", service: "berth", scope: "repository:team/app:pull" });
    const post = await send(b(), "/auth/token", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() });
    expect(post.status).toBe(200);
    expect(post.headers.get("cache-control")).toBe("no-store");
    const body = JSON.parse(post.text) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(Date.parse(body.issued_at)).toBeGreaterThan(Date.now() - 60_000);

    const other = await send(b(), "/auth/token?service=elsewhere", { headers: { Authorization: basicHeader("alice", "alice-pw") } });
    expect(other.status).toBe(400);
    const bad = await send(b(), "/auth/token?service=berth", { headers: { Authorization: basicHeader("alice", "nope") } });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.text).errors[0].message).toBe("Invalid username or password");
  });

  logged("Basic credentials work in token mode too", async () => {
    const headers = { Authorization: basicHeader("alice", "alice-pw") };
    expect((await pushTestImage(b(), "team/basic", "v1", headers)).status).toBe(201);
  });

  logged("a mount from a repository the caller may not read becomes a plain upload", async () => {
    const bob = { Authorization: basicHeader("bob", "bob-pw") };
    const alice = { Authorization: basicHeader("alice", "alice-pw") };
    const blob = new TextEncoder().encode(`secret layer ${crypto.randomUUID()}`);
    expect(await uploadBlob(b(), "secret/db", blob, bob)).toBe(201);
    const digest = sha256(blob);
    // bob may read secret/db: the mount happens
    const mounted = await send(b(), `/v2/team/bob/blobs/uploads/?mount=${digest}&from=secret/db`, { method: "POST", headers: bob });
    expect(mounted.status).toBe(201);
    // alice may not: she gets an upload session and no blob
    const before = snapshot(join(b().root, "data", "docker", "registry", "v2", "blobs"));
    const refused = await send(b(), `/v2/team/alice/blobs/uploads/?mount=${digest}&from=secret/db`, { method: "POST", headers: alice });
    expect(refused.status).toBe(202);
    expect(refused.headers.get("location")).toContain("/v2/team/alice/blobs/uploads/");
    expect((await send(b(), `/v2/team/alice/blobs/${digest}`, { method: "HEAD", headers: alice })).status).toBe(404);
    expect(snapshot(join(b().root, "data", "docker", "registry", "v2", "blobs"))).toEqual(before);
  });

  logged("/api/ is for admins only", async () => {
    expect((await send(b(), "/api/anything")).status).toBe(401);
    expect((await send(b(), "/api/anything", { headers: { Authorization: basicHeader("alice", "alice-pw") } })).status).toBe(403);
    expect((await send(b(), "/api/anything", { headers: { Authorization: basicHeader("root", "root-pw") } })).status).toBe(404);
    const userToken = await fetchToken(b(), ["registry:admin:*"], { user: "alice", password: "alice-pw" });
    expect(userToken.claims.access).toEqual([]);
    const adminToken = await fetchToken(b(), ["registry:admin:*"], { user: "root", password: "root-pw" });
    expect((await send(b(), "/api/anything", { headers: { Authorization: `Bearer ${adminToken.token}` } })).status).toBe(404);
    const narrow = await fetchToken(b(), ["repository:team/app:pull"], { user: "root", password: "root-pw" });
    expect((await send(b(), "/api/anything", { headers: { Authorization: `Bearer ${narrow.token}` } })).status).toBe(401);
  });

  logged("every response carries the security headers", async () => {
    for (const path of ["/v2/", "/auth/token", "/healthz", "/nowhere", "/api/x"]) {
      const reply = await send(b(), path);
      expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
      expect(reply.headers.get("x-frame-options")).toBe("DENY");
      expect(reply.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(reply.headers.get("strict-transport-security")).toBeNull();
    }
  });

  logged("the request log names the user", async () => {
    await send(b(), "/v2/", { headers: { Authorization: basicHeader("bob", "bob-pw") } });
    expect(await waitForOutput(b(), /path=\/v2\/ status=200 .*actor=bob/)).toMatch(/path=\/v2\/ status=200 .*actor=bob/);
  });
});

describe("basic mode", () => {
  test("answers with a Basic challenge, refuses bearer tokens, and has no token service", async () => {
    const dir = tempDir("berth-auth-basic-");
    try {
      await writeHtpasswd(join(dir, "htpasswd"), [{ name: "alice", password: "pw", algorithm: "bcrypt" }]);
      const berth = await startAuthBerth({ root: dir, config: CONFIG.replace('admins = ["root"]', 'admins = ["root"]\nmode = "basic"\nrealm = "Team registry"') });
      try {
        const challenge = await send(berth, "/v2/team/app/tags/list");
        expect(challenge.status).toBe(401);
        expect(challenge.headers.get("www-authenticate")).toBe('Basic realm="Team registry"');
        expect((await send(berth, "/v2/", { headers: { Authorization: "Bearer abc.def.ghi" } })).status).toBe(401);
        expect((await send(berth, "/auth/token")).status).toBe(404);
        const image = buildImage();
        expect(image.digest).toStartWith("sha256:");
        expect((await pushTestImage(berth, "team/app", "v1", { Authorization: basicHeader("alice", "pw") })).status).toBe(201);
      } finally {
        await berth.stop();
      }
    } finally {
      removeDir(dir);
    }
  }, 30_000);
});

describe("start-up refuses a set-up that cannot work", () => {
  const cases: Array<[string, string, (dir: string) => void, RegExp]> = [
    ["a missing htpasswd file", '[auth]\nhtpasswd = "missing/htpasswd"\n', () => {}, /Cannot read \[auth\] htpasswd file .*missing\/htpasswd: no such file \(create it with: berth user add NAME --config /],
    ["rules without an htpasswd file", '[[access]]\nrepositories = ["**"]\nanonymous = true\nactions = ["pull"]\n', () => {}, /\[\[access\]\] rules and \[auth\] admins need \[auth\] htpasswd/],
    [
      "an unknown group",
      '[auth]\nhtpasswd = "htpasswd"\n[[access]]\nrepositories = ["**"]\ngroups = ["ops"]\nactions = ["pull"]\n',
      (dir) => writeFileSync(join(dir, "htpasswd"), ""),
      /names group "ops", which \[auth.groups\] does not define/,
    ],
    ["an unknown action", '[[access]]\nrepositories = ["**"]\nanonymous = true\nactions = ["read"]\n', () => {}, /Invalid config key "access.0.actions.0"/],
    ["a missing certificate", '[http.tls]\ncertificate = "tls/missing.crt"\nkey = "tls/missing.key"\n', () => {}, /Cannot read http.tls.certificate file .*tls\/missing.crt: no such file/],
    ["a key without a certificate", '[http.tls]\nkey = "tls/server.key"\n', () => {}, /http.tls.key is set but http.tls.certificate is not/],
    [
      "a certificate that is not PEM",
      '[http.tls]\ncertificate = "tls/server.crt"\nkey = "tls/server.key"\n',
      (dir) => {
        mkdirSync(join(dir, "tls"));
        writeFileSync(join(dir, "tls/server.crt"), "not a certificate");
        writeFileSync(join(dir, "tls/server.key"), "-----BEGIN PRIVATE KEY-----\n");
      },
      /http.tls.certificate file .*server.crt is not PEM/,
    ],
    [
      "a key that is not the certificate's",
      '[http.tls]\ncertificate = "a.crt"\nkey = "b.key"\n',
      (dir) => {
        for (const name of ["a", "b"]) {
          const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "1", "-subj", `/CN=${name}`];
          expect(Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "ignore", stderr: "ignore" }).exitCode).toBe(0);
        }
      },
      /http.tls.key file \S*\/b.key is not the key of the certificate in \S*\/a.crt/,
    ],
  ];
  test.each(cases)("%s", async (_name, config, prepare, message) => {
    const dir = tempDir("berth-auth-refuse-");
    try {
      prepare(dir);
      writeFileSync(join(dir, "registry.toml"), config);
      const result = await runBerth(["serve", "--config", join(dir, "registry.toml")], {
        cwd: dir,
        env: { BERTH_HTTP_ADDR: "127.0.0.1:0", BERTH_STORAGE_ROOT: join(dir, "data") },
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
    } finally {
      removeDir(dir);
    }
  }, 30_000);
});
