/**
 * The real Docker client against Berth over TLS (a CA made with openssl, trusted through
 * /etc/docker/certs.d/<host:port>/ca.crt): docker login (wrong password fails), push, pull and
 * run; a push outside the user's rights is denied; after docker logout a push fails. Token mode,
 * then basic mode. The certs.d directory and the images are removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, makeTestCa, startAuthBerth, type TestCa, writeHtpasswd } from "../helpers/auth.ts";
import { buildTestImage, docker, ensureDocker, exec, removeImage, type TestImage } from "../helpers/docker.ts";
import { removeDir, withServerLog } from "../helpers/server.ts";

const CONFIG = (mode: string) => `
[http.tls]
certificate = "tls/server.crt"
key = "tls/server.key"

[auth]
htpasswd = "auth/htpasswd"
mode = "${mode}"
admins = ["root"]

[[access]]
repositories = ["team/**"]
users = ["alice"]
actions = ["pull", "push"]
`;

interface Setup {
  berth: AuthBerth;
  certsDir: string;
  dockerConfig: string;
}

let ca: TestCa | undefined;
let image: TestImage | undefined;

beforeAll(async () => {
  await ensureDocker();
  ca = await makeTestCa();
  image = await buildTestImage({ name: "auth-e2e" });
}, 120_000);

afterAll(async () => {
  if (image) await removeImage(image.id);
  if (ca) removeDir(ca.dir);
});

async function start(mode: string): Promise<Setup> {
  const authority = ca;
  if (!authority) throw new Error("beforeAll did not finish");
  const berth = await startAuthBerth({
    config: CONFIG(mode),
    tls: { ca: authority.caPem },
    prepare: async (dir) => {
      mkdirSync(join(dir, "tls"));
      copyFileSync(authority.serverCert, join(dir, "tls/server.crt"));
      copyFileSync(authority.serverKey, join(dir, "tls/server.key"));
      await writeHtpasswd(join(dir, "auth/htpasswd"), [
        { name: "alice", password: "alice-pass-1" },
        { name: "root", password: "root-pass-1", algorithm: "bcrypt" },
      ]);
      mkdirSync(join(dir, "docker-config"));
    },
  });
  const certsDir = `/etc/docker/certs.d/${berth.host}`;
  mkdirSync(certsDir, { recursive: true });
  copyFileSync(authority.caCert, join(certsDir, "ca.crt"));
  return { berth, certsDir, dockerConfig: join(berth.root, "docker-config") };
}

async function stop(setup: Setup | undefined): Promise<void> {
  if (!setup) return;
  await setup.berth.stop();
  rmSync(setup.certsDir, { recursive: true, force: true });
}

/** docker with its own config directory (credentials); the exit code is the test's to check. */
function dockerAs(setup: Setup, args: string[]) {
  return docker(args, { env: { DOCKER_CONFIG: setup.dockerConfig }, allowFailure: true, timeoutMs: 120_000 });
}

async function login(setup: Setup, user: string, password: string) {
  const { exitCode, stdout, stderr } = await exec(["docker", "--config", setup.dockerConfig, "login", setup.berth.host, "--username", user, "--password-stdin"], {
    stdin: password,
    env: { DOCKER_CLI_HINTS: "false" },
    allowFailure: true,
  });
  return { exitCode, output: stdout + stderr };
}

describe("docker over TLS, token mode", () => {
  let setup: Setup | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [setup?.berth], body), 180_000);

  beforeAll(async () => {
    setup = await start("token");
  }, 60_000);
  afterAll(async () => {
    await stop(setup);
  });

  logged("docker login with a wrong password fails", async () => {
    const s = setup as Setup;
    const result = await login(s, "alice", "not-the-password");
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toMatch(/unauthorized|Invalid username or password/i);
  });

  logged("docker login, push, pull and run; a push outside the rules is denied", async () => {
    const s = setup as Setup;
    const img = image as TestImage;
    const result = await login(s, "alice", "alice-pass-1");
    expect(result.output).toContain("Login Succeeded");

    const ref = `${s.berth.host}/team/app:v1`;
    await dockerAs(s, ["tag", img.id, ref]);
    const pushed = await dockerAs(s, ["push", ref]);
    expect(pushed.exitCode).toBe(0);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    expect(digest).toBeDefined();

    await dockerAs(s, ["rmi", ref]);
    const pulled = await dockerAs(s, ["pull", ref]);
    expect(pulled.exitCode).toBe(0);
    expect(pulled.stdout).toContain(`Digest: ${digest}`);
    const run = await dockerAs(s, ["run", "--rm", "--network", "none", ref]);
    expect(run.stdout.trim()).toBe(img.text);

    const forbidden = `${s.berth.host}/private/app:v1`;
    await dockerAs(s, ["tag", img.id, forbidden]);
    const denied = await dockerAs(s, ["push", forbidden]);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr + denied.stdout).toContain("denied: Requested access to the resource is denied");
    await dockerAs(s, ["rmi", forbidden]);
  });

  logged("after docker logout a push fails with unauthorized", async () => {
    const s = setup as Setup;
    const img = image as TestImage;
    const out = await dockerAs(s, ["logout", s.berth.host]);
    expect(out.exitCode).toBe(0);
    const ref = `${s.berth.host}/team/app:after-logout`;
    await dockerAs(s, ["tag", img.id, ref]);
    const push = await dockerAs(s, ["push", ref]);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr + push.stdout).toContain("unauthorized: Authentication required");
    await dockerAs(s, ["rmi", ref]);
  });
});

describe("docker over TLS, basic mode", () => {
  let setup: Setup | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [setup?.berth], body), 180_000);

  beforeAll(async () => {
    setup = await start("basic");
  }, 60_000);
  afterAll(async () => {
    await stop(setup);
  });

  logged("docker login (wrong password fails), push, and push after logout fails", async () => {
    const s = setup as Setup;
    const img = image as TestImage;
    expect((await login(s, "alice", "wrong")).exitCode).not.toBe(0);
    expect((await login(s, "alice", "alice-pass-1")).output).toContain("Login Succeeded");
    const ref = `${s.berth.host}/team/basic:v1`;
    await dockerAs(s, ["tag", img.id, ref]);
    const pushed = await dockerAs(s, ["push", ref]);
    expect(pushed.exitCode).toBe(0);
    expect(pushed.stdout).toMatch(/digest: sha256:[0-9a-f]{64}/);
    expect((await dockerAs(s, ["logout", s.berth.host])).exitCode).toBe(0);
    const again = await dockerAs(s, ["push", ref]);
    expect(again.exitCode).not.toBe(0);
    // the docker CLI refuses by itself: basic mode needs stored credentials for every request
    expect(again.stderr + again.stdout).toMatch(/no basic auth credentials|unauthorized/);
    await dockerAs(s, ["rmi", ref]);
  });
});
