/**
 * `berth robot` and `berth ns` against the compiled binary: with no server they work on the
 * storage root in process; with one they ask it through its admin socket and it sees the
 * change at once (one code path: the admin API). Bad input is refused with a clear message and
 * a non-zero exit. A robot expiring within 7 days is logged at start and sent to a webhook as
 * an `expiring` event.
 */
import { afterAll, describe, expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, basicHeader, send, startAuthBerth, writeHtpasswd } from "../helpers/auth.ts";
import { berthCli, createRobot } from "../helpers/accounts.ts";
import { runBerth, testWithServerLog, waitForOutput } from "../helpers/server.ts";
import { eventsOf, TestReceiver } from "../plugins/webhook/support.ts";

const CONFIG = (hook: string) => `
[auth]
htpasswd = "htpasswd"
admins = ["root"]

[[webhook.endpoints]]
name = "alerts"
url = "${hook}"
actions = ["expiring"]
`;

describe("berth robot and berth ns", () => {
  let berth: AuthBerth | undefined;
  let receiver: TestReceiver | undefined;
  const test = testWithServerLog(() => [berth]);
  const secrets = new Map<string, string>();

  afterAll(async () => {
    await berth?.stop();
    await receiver?.down();
  });

  test("without a server they work on the storage; the server then logs and sends the robots expiring soon", async () => {
    receiver = await TestReceiver.start();
    const config = CONFIG(receiver.url());
    berth = await startAuthBerth({
      config,
      prepare: async (root) => {
        await writeHtpasswd(join(root, "htpasswd"), [{ name: "root", password: "root-pass", algorithm: "bcrypt" }]);
        writeFileSync(join(root, "registry.toml"), config);
        secrets.set("soon", await createRobot(root, "soon", ["--repositories", "team/**", "--actions", "pull", "--expires", "3d"]));
        secrets.set("later", await createRobot(root, "later", ["--repositories", "team/**", "--actions", "pull,push", "--expires", "30d"]));
        await berthCli(root, ["ns", "create", "team"]);
        await berthCli(root, ["ns", "member", "add", "team", "root", "admin"]);
        const listed = await berthCli(root, ["robot", "list"]);
        expect(listed).toContain("robot$soon");
        expect(listed).toContain("robot$later");
      },
    });
    const output = await waitForOutput(berth, "a robot account expires soon", 10_000);
    expect(output).toContain("robot=robot$soon");
    expect(output).not.toContain("robot=robot$later");
    await receiver.until(() => receiver?.on("/hook").length === 1, 15_000, "the expiring event");
    const [event] = eventsOf(receiver.on("/hook")[0] ?? { path: "", headers: {}, body: "", json: null, at: 0 });
    expect(event?.action).toBe("expiring");
    expect(event?.actor.name).toBe("robot$soon");
    expect(event?.target.url).toEndWith("/api/v1/robots/soon");
  }, 60_000);

  test("with a server they ask it through the admin socket, and the change applies at once", async () => {
    const b = berth as AuthBerth;
    const robot = (name: string) => ({ Authorization: basicHeader(`robot$${name}`, secrets.get(name) ?? "") });
    expect((await send(b, "/v2/", { headers: robot("later") })).status).toBe(200);
    const disable = await runBerth(["robot", "disable", "later", "--config", join(b.root, "registry.toml")], { cwd: b.root, env: { BERTH_STORAGE_ROOT: join(b.root, "data") } });
    expect(disable.code).toBe(0);
    expect(disable.stderr).toContain("asking it through");
    expect((await send(b, "/v2/", { headers: robot("later") })).status).toBe(401);
    const json = JSON.parse(await berthCli(b.root, ["robot", "list", "--json"])) as { robots: Array<{ name: string; disabled: boolean }> };
    expect(json.robots.map((r) => [r.name, r.disabled])).toEqual([["later", true], ["soon", false]]);
    expect(await berthCli(b.root, ["ns", "list"])).toMatch(/team\s+off\s+root=admin/);
    await berthCli(b.root, ["ns", "member", "remove", "team", "root"]);
    expect(await berthCli(b.root, ["ns", "show", "team"])).not.toContain("root");
    await berthCli(b.root, ["ns", "delete", "team"]);
    expect(await berthCli(b.root, ["ns", "list", "--json"])).toContain('"namespaces": []');
  }, 60_000);

  test("bad input is refused with a message and a non-zero exit", async () => {
    const b = berth as AuthBerth;
    const run = (args: string[]) => runBerth([...args, "--config", join(b.root, "registry.toml")], { cwd: b.root, env: { BERTH_STORAGE_ROOT: join(b.root, "data") } });
    const cases: Array<[string[], RegExp]> = [
      [["robot", "create", "x", "--actions", "pull"], /needs --repositories/],
      [["robot", "create", "x", "--repositories", "a/**", "--actions", "fly"], /Unknown action "fly"/],
      [["robot", "create", "X Y", "--repositories", "a/**", "--actions", "pull"], /Invalid robot name/],
      [["robot", "create", "x", "--repositories", "a/**", "--actions", "pull", "--expires", "soon"], /cannot parse duration "soon"/],
      [["robot", "create", "soon", "--repositories", "a/**", "--actions", "pull"], /exists/],
      [["robot", "rotate", "nobody"], /No robot named "nobody"/],
      [["robot", "fly"], /unknown robot command "fly"/],
      [["robot", "list", "--bogus"], /unknown option "--bogus"/],
      [["ns", "member", "add", "nowhere", "root", "admin"], /No namespace "nowhere"/],
      [["ns", "create", "apps"], /^$/],
      [["ns", "member", "add", "apps", "root", "boss"], /Unknown role "boss"/],
      [["ns", "anonymous", "apps", "maybe"], /on or off/],
    ];
    for (const [args, message] of cases) {
      const result = await run(args);
      const expectFailure = message.source !== "^$";
      expect(result.code === 0).toBe(!expectFailure);
      if (expectFailure) expect(result.stderr).toMatch(message);
    }
    for (const command of ["robot", "ns"]) {
      const help = await run([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`berth ${command}`);
    }
  }, 120_000);
});
