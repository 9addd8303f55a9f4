/**
 * `http.headers` (added to every answer) and `[http.cors]` (browsers and third-party UIs such as
 * joxit's docker-registry-ui) on a real process, with authentication on so that preflights are
 * seen to need no credentials.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type AuthBerth, basicHeader, pushTestImage, send, startAuthBerth, writeHtpasswd } from "../helpers/auth.ts";
import { removeDir, runBerth, tempDir, withServerLog } from "../helpers/server.ts";

const UI = "https://ui.example.com";
const CONFIG = `
[http.headers]
X-Frame-Options = "SAMEORIGIN"
X-Powered-By-Team = ["registry", "platform"]
Referrer-Policy = []

[http.cors]
origins = ["${UI}", "http://localhost:8080"]

[auth]
htpasswd = "htpasswd"
mode = "basic"
`;
const alice = { Authorization: basicHeader("alice", "alice-pw") };

function start(config: string): Promise<AuthBerth> {
  return startAuthBerth({ config, prepare: (root) => writeHtpasswd(join(root, "htpasswd"), [{ name: "alice", password: "alice-pw", algorithm: "bcrypt" }]) });
}

/** What a browser sends before a cross-origin request with an Authorization header. */
function preflight(server: AuthBerth, path: string, origin: string, method = "GET") {
  return send(server, path, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,accept,cache-control" },
  });
}

const list = (value: string | null) => (value ?? "").split(",").map((item) => item.trim().toLowerCase());

describe("http.headers and [http.cors] with exact origins", () => {
  let berth: AuthBerth | undefined;
  const b = () => berth as AuthBerth;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 60_000);

  beforeAll(async () => {
    berth = await start(CONFIG);
    expect((await pushTestImage(b(), "ui/app", "v1", alice)).status).toBe(201);
  }, 30_000);
  afterAll(async () => {
    await berth?.stop();
  });

  logged("configured headers are on every answer; they replace Berth's own, an empty list removes one", async () => {
    for (const [path, headers] of [["/v2/", alice], ["/v2/", {}], ["/v2/ui/app/tags/list", alice], ["/healthz", {}], ["/nowhere", {}]] as const) {
      const reply = await send(b(), path, { headers });
      expect(reply.headers.get("x-frame-options"), path).toBe("SAMEORIGIN");
      expect(reply.headers.get("x-powered-by-team"), path).toBe("registry, platform");
      expect(reply.headers.get("referrer-policy"), path).toBeNull();
      expect(reply.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
  });

  logged("a preflight from a listed origin answers 204 without credentials, on any /v2/ path and /auth/token", async () => {
    for (const [path, method] of [["/v2/", "GET"], ["/v2/_catalog", "GET"], ["/v2/ui/app/manifests/v1", "DELETE"], ["/v2/no/such/repo/blobs/uploads/", "POST"], ["/auth/token", "GET"]]) {
      const reply = await preflight(b(), path as string, UI, method);
      expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(204);
      expect(reply.headers.get("access-control-allow-origin")).toBe(UI);
      expect(reply.headers.get("access-control-allow-credentials")).toBe("true");
      expect(list(reply.headers.get("access-control-allow-methods"))).toContain((method as string).toLowerCase());
      expect(list(reply.headers.get("access-control-allow-methods"))).toEqual(expect.arrayContaining(["head", "get", "options", "delete"]));
      expect(list(reply.headers.get("access-control-allow-headers"))).toEqual(
        expect.arrayContaining(["authorization", "accept", "cache-control", "content-type", "range", "docker-content-digest"]),
      );
      expect(Number(reply.headers.get("access-control-max-age"))).toBeGreaterThan(0);
      expect(list(reply.headers.get("vary"))).toContain("origin");
      expect(reply.headers.get("www-authenticate")).toBeNull();
    }
    // the second listed origin too
    expect((await preflight(b(), "/v2/", "http://localhost:8080")).headers.get("access-control-allow-origin")).toBe("http://localhost:8080");
  });

  logged("a preflight from an origin not listed gets 403 and no Access-Control-Allow-Origin", async () => {
    for (const origin of ["https://evil.example.com", "https://ui.example.com.evil.example", "null"]) {
      const reply = await preflight(b(), "/v2/_catalog", origin);
      expect(reply.status).toBe(403);
      expect(reply.headers.get("access-control-allow-origin")).toBeNull();
      expect(JSON.parse(reply.text).errors[0].code).toBe("DENIED");
    }
  });

  logged("answers to a listed origin allow it, with credentials, and expose the registry's headers", async () => {
    const get = await send(b(), "/v2/ui/app/manifests/v1", { headers: { ...alice, Origin: UI, Accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe(UI);
    expect(get.headers.get("access-control-allow-credentials")).toBe("true");
    expect(list(get.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining(["docker-content-digest", "link", "location", "content-range", "range", "docker-upload-uuid", "www-authenticate"]),
    );
    expect(list(get.headers.get("vary"))).toContain("origin");
    // a 401 too, so the UI can read the challenge and show its login form
    const challenged = await send(b(), "/v2/_catalog", { headers: { Origin: UI } });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get("access-control-allow-origin")).toBe(UI);
    expect(challenged.headers.get("www-authenticate")).toStartWith("Basic ");
  });

  logged("answers to another origin, or without one, carry no Access-Control-Allow-Origin but Vary: Origin", async () => {
    for (const headers of [{ ...alice, Origin: "https://evil.example.com" }, alice]) {
      const reply = await send(b(), "/v2/_catalog", { headers });
      expect(reply.status).toBe(200);
      expect(reply.headers.get("access-control-allow-origin")).toBeNull();
      expect(reply.headers.get("access-control-allow-credentials")).toBeNull();
      expect(list(reply.headers.get("vary"))).toContain("origin");
    }
  });

  logged("an OPTIONS that is not a preflight is not answered as one (and still needs credentials)", async () => {
    const reply = await send(b(), "/v2/_catalog", { method: "OPTIONS", headers: { Origin: UI } });
    expect(reply.status).toBe(401);
  });
});

describe('[http.cors] origins = ["*"]', () => {
  let berth: AuthBerth | undefined;
  const b = () => berth as AuthBerth;

  beforeAll(async () => {
    berth = await start('[http.cors]\norigins = ["*"]\n');
  }, 30_000);
  afterAll(async () => {
    await berth?.stop();
  });

  test("any origin is allowed, without credentials", async () => {
    const pre = await preflight(b(), "/v2/_catalog", "https://anything.example");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
    // authentication is off here: a UI without credentials, as browsers allow with "*"
    const get = await send(b(), "/v2/_catalog", { headers: { Origin: "https://anything.example" } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
    expect(get.headers.get("access-control-allow-credentials")).toBeNull();
    expect(list(get.headers.get("access-control-expose-headers"))).toContain("docker-content-digest");
  });
});

describe("settings that cannot work stop start-up with the key", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["an origin with a path", '[http.cors]\norigins = ["https://ui.example.com/"]\n', /Invalid config key "http\.cors\.origins\.0": expected "\*" or an origin/],
    ["an origin without a scheme", '[http.cors]\norigins = ["ui.example.com"]\n', /http\.cors\.origins\.0/],
    ["a header Berth computes", '[http.headers]\nContent-Length = "0"\n', /Invalid config key "http\.headers\.Content-Length": Berth sets Content-Length itself/],
    ["Docker-Content-Digest", '[http.headers]\nDocker-Content-Digest = ["x"]\n', /http\.headers\.Docker-Content-Digest/],
    ["Access-Control-* beside [http.cors]", '[http.headers]\nAccess-Control-Allow-Origin = ["*"]\n[http.cors]\norigins = ["*"]\n', /\[http\.cors\] answers CORS/],
    ["a value with a line break", '[http.headers]\nX-Bad = "a\\r\\nSet-Cookie: x=1"\n', /Invalid config key "http\.headers\.X-Bad": not a valid HTTP header/],
    ["a name with a space", '[http.headers]\n"X Bad" = "a"\n', /http\.headers\.X Bad/],
  ];
  test.each(cases)("%s", async (_name, config, message) => {
    const dir = tempDir("berth-cors-bad-");
    try {
      await Bun.write(join(dir, "registry.toml"), config);
      const result = await runBerth(["serve", "--config", join(dir, "registry.toml")], {
        cwd: dir,
        env: { BERTH_HTTP_ADDR: "127.0.0.1:0", BERTH_STORAGE_ROOT: join(dir, "data") },
        timeoutMs: 15_000,
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
    } finally {
      removeDir(dir);
    }
  }, 30_000);

  test("registry:2's Access-Control-* headers without [http.cors] are accepted and sent as they are", async () => {
    const berth = await start('[http.headers]\nAccess-Control-Allow-Origin = ["https://ui.example.com"]\nAccess-Control-Expose-Headers = ["Docker-Content-Digest"]\n');
    try {
      const reply = await send(berth, "/v2/", { headers: alice });
      expect(reply.headers.get("access-control-allow-origin")).toBe(UI);
      expect(reply.headers.get("access-control-expose-headers")).toBe("Docker-Content-Digest");
    } finally {
      await berth.stop();
    }
  }, 30_000);
});
