/**
 * The real Docker client with robot accounts and namespace roles, against the compiled binary
 * (plain HTTP on 127.0.0.1, which Docker treats as an insecure registry): docker login as
 * robot$NAME, push and pull inside its grant and refused outside; rotation with and without a
 * grace period; disable and enable; expiry; a robot capped by its demoted creator; and docker
 * push/pull for each role. Every change is made with `berth robot` / `berth ns` while the
 * server runs and takes effect at once. Token mode, then the robot's basics in basic mode.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, basicHeader, send, startAuthBerth, writeHtpasswd } from "../helpers/auth.ts";
import { berthCli, createRobot } from "../helpers/accounts.ts";
import { buildTestImage, docker, ensureDocker, exec, removeImage, type TestImage } from "../helpers/docker.ts";
import { testWithServerLog } from "../helpers/server.ts";

const CONFIG = (mode: string) => `
[auth]
htpasswd = "auth/htpasswd"
mode = "${mode}"
admins = ["root"]
`;

const USERS = ["root", "nadia", "mark", "dev", "rita"].map((name) => ({ name, password: `${name}-pass-1`, algorithm: "bcrypt" as const }));

let image: TestImage | undefined;
const refs = new Set<string>();

beforeAll(async () => {
  await ensureDocker();
  image = await buildTestImage({ name: "robots-e2e" });
}, 120_000);

afterAll(async () => {
  for (const ref of refs) await docker(["rmi", ref], { allowFailure: true, timeoutMs: 30_000 });
  if (image) await removeImage(image.id);
});

async function start(mode: string): Promise<AuthBerth> {
  return startAuthBerth({
    config: CONFIG(mode),
    prepare: async (dir) => {
      await writeHtpasswd(join(dir, "auth/htpasswd"), USERS);
      mkdirSync(join(dir, "docker-config"));
    },
  });
}

/** The docker CLI with the server's own credentials directory; the exit code is the test's to check. */
function dockerAs(berth: AuthBerth, args: string[]) {
  return docker(["--config", join(berth.root, "docker-config"), ...args], { allowFailure: true, timeoutMs: 120_000 });
}

async function login(berth: AuthBerth, user: string, password: string): Promise<boolean> {
  const result = await exec(["docker", "--config", join(berth.root, "docker-config"), "login", berth.host, "--username", user, "--password-stdin"], {
    stdin: password,
    env: { DOCKER_CLI_HINTS: "false" },
    allowFailure: true,
  });
  return result.exitCode === 0 && result.stdout.includes("Login Succeeded");
}

/** Tags the test image as `repo:tag` on this server and pushes it; true when docker succeeded. */
async function push(berth: AuthBerth, repoTag: string): Promise<boolean> {
  const ref = `${berth.host}/${repoTag}`;
  refs.add(ref);
  await dockerAs(berth, ["tag", (image as TestImage).id, ref]);
  return (await dockerAs(berth, ["push", ref])).exitCode === 0;
}

async function pull(berth: AuthBerth, repoTag: string): Promise<boolean> {
  return (await dockerAs(berth, ["pull", `${berth.host}/${repoTag}`])).exitCode === 0;
}

describe("docker with robots and roles, token mode", () => {
  let berth: AuthBerth | undefined;
  const test = testWithServerLog(() => [berth]);
  const cli = (...args: string[]) => berthCli((berth as AuthBerth).root, args);

  beforeAll(async () => {
    berth = await start("token");
  }, 60_000);
  afterAll(async () => {
    await berth?.stop();
  });

  test("a robot logs in with docker and pushes and pulls inside its grant only", async () => {
    const b = berth as AuthBerth;
    const secret = await createRobot(b.root, "ci", ["--repositories", "apps/**", "--actions", "pull,push", "--expires", "90d"]);
    expect(await login(b, "robot$ci", "not-the-secret")).toBe(false);
    expect(await login(b, "robot$ci", secret)).toBe(true);
    expect(await push(b, "apps/web:v1")).toBe(true);
    expect(await pull(b, "apps/web:v1")).toBe(true);
    expect(await push(b, "other/web:v1")).toBe(false);
    // last use is recorded, with the address
    const listed = await cli("robot", "list");
    expect(listed).toMatch(/robot\$ci .* active .* from 127\.0\.0\.1/);
  }, 300_000);

  test("rotate with a grace period keeps the old secret working until it ends; without, it stops at once", async () => {
    const b = berth as AuthBerth;
    const first = await createRobot(b.root, "rot", ["--repositories", "apps/**", "--actions", "pull,push"]);
    const second = (await cli("robot", "rotate", "rot", "--grace", "1h")).trim();
    expect(second).not.toBe(first);
    expect(await login(b, "robot$rot", first)).toBe(true);
    expect(await push(b, "apps/web:rotated")).toBe(true);
    expect(await login(b, "robot$rot", second)).toBe(true);
    const third = (await cli("robot", "rotate", "rot")).trim();
    expect(await login(b, "robot$rot", first)).toBe(false);
    expect(await login(b, "robot$rot", second)).toBe(false);
    expect(await login(b, "robot$rot", third)).toBe(true);
  }, 300_000);

  test("a disabled robot is refused at once, also with the credentials docker holds; enable lets it in again", async () => {
    const b = berth as AuthBerth;
    const secret = await createRobot(b.root, "switch", ["--repositories", "apps/**", "--actions", "pull,push"]);
    expect(await login(b, "robot$switch", secret)).toBe(true);
    expect(await pull(b, "apps/web:v1")).toBe(true);
    await cli("robot", "disable", "switch");
    expect(await pull(b, "apps/web:v1")).toBe(false);
    expect(await login(b, "robot$switch", secret)).toBe(false);
    await cli("robot", "enable", "switch");
    expect(await login(b, "robot$switch", secret)).toBe(true);
    expect(await pull(b, "apps/web:v1")).toBe(true);
    await cli("robot", "delete", "switch");
    expect(await pull(b, "apps/web:v1")).toBe(false);
  }, 300_000);

  test("an expired robot is refused", async () => {
    const b = berth as AuthBerth;
    const made = Date.now();
    const secret = await createRobot(b.root, "brief", ["--repositories", "apps/**", "--actions", "pull", "--expires", "4s"]);
    // creation takes a moment: only a login well before the end says something
    if (Date.now() - made < 2_000) expect(await login(b, "robot$brief", secret)).toBe(true);
    await Bun.sleep(Math.max(0, made + 4_500 - Date.now()));
    expect(await login(b, "robot$brief", secret)).toBe(false);
    expect(await pull(b, "apps/web:v1")).toBe(false);
  }, 120_000);

  test("each role: admin, maintainer and developer push, reader only pulls; a robot loses what its demoted creator lost", async () => {
    const b = berth as AuthBerth;
    await cli("ns", "create", "team");
    for (const [user, role] of [["nadia", "admin"], ["mark", "maintainer"], ["dev", "developer"], ["rita", "reader"]] as const) {
      await cli("ns", "member", "add", "team", user, role);
    }
    for (const [user, pushes] of [["nadia", true], ["mark", true], ["dev", true], ["rita", false]] as const) {
      expect(await login(b, user, `${user}-pass-1`)).toBe(true);
      expect(await push(b, `team/app:${user}`)).toBe(pushes);
      expect(await pull(b, "team/app:nadia")).toBe(true);
      expect(await push(b, `elsewhere/app:${user}`)).toBe(false);
    }
    // nadia, team's admin, makes a robot through the API; then she is made a reader
    const made = await send(b, "/api/v1/namespaces/team/robots", {
      method: "POST",
      headers: { Authorization: basicHeader("nadia", "nadia-pass-1"), "Content-Type": "application/json" },
      body: JSON.stringify({ name: "team-bot", repositories: ["team/**"], actions: ["pull", "push"] }),
    });
    expect(made.status).toBe(201);
    const secret = (JSON.parse(made.text) as { secret: string }).secret;
    expect(await login(b, "robot$team-bot", secret)).toBe(true);
    expect(await push(b, "team/app:bot-1")).toBe(true);
    await cli("ns", "member", "add", "team", "nadia", "reader");
    expect(await push(b, "team/app:bot-2")).toBe(false);
    expect(await pull(b, "team/app:bot-1")).toBe(true);
    // anonymous pull is a switch
    await dockerAs(b, ["logout", b.host]);
    expect(await pull(b, "team/app:bot-1")).toBe(false);
    await cli("ns", "anonymous", "team", "on");
    expect(await pull(b, "team/app:bot-1")).toBe(true);
    expect(await push(b, "team/app:anonymous")).toBe(false);
  }, 600_000);
});

describe("docker with a robot, basic mode", () => {
  let berth: AuthBerth | undefined;
  const test = testWithServerLog(() => [berth]);

  beforeAll(async () => {
    berth = await start("basic");
  }, 60_000);
  afterAll(async () => {
    await berth?.stop();
  });

  test("docker login, push and pull as a robot; refused outside its grant and once disabled", async () => {
    const b = berth as AuthBerth;
    const secret = await createRobot(b.root, "ci", ["--repositories", "apps/**", "--actions", "pull,push"]);
    expect(await login(b, "robot$ci", secret)).toBe(true);
    expect(await push(b, "apps/web:basic")).toBe(true);
    expect(await pull(b, "apps/web:basic")).toBe(true);
    expect(await push(b, "other/web:basic")).toBe(false);
    await berthCli(b.root, ["robot", "disable", "ci"]);
    expect(await pull(b, "apps/web:basic")).toBe(false);
  }, 300_000);
});
