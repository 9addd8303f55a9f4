/** `berth user add|remove|list`, and a running registry seeing the changes without a restart. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { basicHeader, fetchToken, send, startAuthBerth } from "../helpers/auth.ts";
import { exec } from "../helpers/docker.ts";
import { removeDir, runBerth, tempDir, withServerLog } from "../helpers/server.ts";

const dir = tempDir("berth-user-cli-");
afterAll(() => removeDir(dir));

const CONFIG = '[auth]\nhtpasswd = "auth/htpasswd"\n\n[[access]]\nrepositories = ["team/**"]\nusers = ["*"]\nactions = ["pull"]\n';

describe("berth user", () => {
  const config = join(dir, "registry.toml");
  writeFileSync(config, CONFIG);
  const file = join(dir, "auth/htpasswd");

  test("add creates the file next to the config (mode 0600) with an argon2id entry", async () => {
    const result = await runBerth(["user", "add", "alice", "--password-stdin", "--config", config], { stdin: "alice-pw\n" });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`added user alice in ${file}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toMatch(/^alice:\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
  });

  test("--bcrypt writes an entry Apache's htpasswd verifies; add again changes the password", async () => {
    expect((await runBerth(["user", "add", "bob", "--bcrypt", "--password-stdin", "--config", config], { stdin: "bob-pw" })).code).toBe(0);
    expect((await exec(["htpasswd", "-v", "-b", file, "bob", "bob-pw"], { allowFailure: true })).exitCode).toBe(0);
    const again = await runBerth(["user", "add", "bob", "--bcrypt", "--password-stdin", "--config", config], { stdin: "bob-pw-2" });
    expect(again.stdout).toContain("changed the password of user bob");
    expect((await exec(["htpasswd", "-v", "-b", file, "bob", "bob-pw-2"], { allowFailure: true })).exitCode).toBe(0);
  });

  test("list prints the names; remove takes one out; --file works without a config", async () => {
    expect((await runBerth(["user", "list", "--config", config])).stdout).toBe("alice\nbob\n");
    expect((await runBerth(["user", "remove", "bob", "--file", file])).code).toBe(0);
    expect((await runBerth(["user", "list", "--file", file])).stdout).toBe("alice\n");
  });

  test("mistakes are refused with a message", async () => {
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [["user", "remove", "nobody", "--file", file], undefined, /no user "nobody" in /],
      [["user", "add", "carol", "--file", file], undefined, /standard input is not a terminal; pass the password with --password-stdin/],
      [["user", "add", "carol", "--password-stdin", "--file", file], "", /empty password refused/],
      [["user", "add", "ca:rol", "--password-stdin", "--file", file], "pw", /Invalid user name "ca:rol"/],
      [["user", "add", "--password-stdin", "--file", file], "pw", /needs a user NAME/],
      [["user", "rename", "x", "--file", file], undefined, /unknown user command "rename"/],
      [["user", "list"], undefined, /no htpasswd file: set \[auth\] htpasswd/],
    ];
    const empty = join(dir, "empty");
    mkdirSync(empty);
    for (const [args, stdin, message] of cases) {
      const result = await runBerth(args, { cwd: empty, ...(stdin === undefined ? {} : { stdin }), env: { BERTH_CONFIG: "" } });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
    expect((await runBerth(["user", "--help"])).stdout).toContain("berth user add NAME [--password-stdin] [--bcrypt]");
  });
});

describe("a running registry", () => {
  test("sees users added and removed without a restart; a removed user's token stops working", async () => {
    let config = "";
    const berth = await startAuthBerth({
      config: CONFIG,
      prepare: async (root) => {
        config = join(root, "registry.toml");
        writeFileSync(config, CONFIG);
        expect((await runBerth(["user", "add", "admin", "--password-stdin", "--config", config], { stdin: "admin-pw" })).code).toBe(0);
      },
    });
    try {
      await withServerLog(() => [berth], async () => {
        const carol = { Authorization: basicHeader("carol", "carol-pw") };
        expect((await send(berth, "/v2/", { headers: carol })).status).toBe(401);
        expect((await runBerth(["user", "add", "carol", "--password-stdin", "--config", config], { stdin: "carol-pw" })).code).toBe(0);
        expect((await send(berth, "/v2/", { headers: carol })).status).toBe(200);
        const { token } = await fetchToken(berth, ["repository:team/app:pull"], { user: "carol", password: "carol-pw" });
        expect((await send(berth, "/v2/", { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);

        expect((await runBerth(["user", "remove", "carol", "--config", config])).code).toBe(0);
        expect((await send(berth, "/v2/", { headers: carol })).status).toBe(401);
        const stale = await send(berth, "/v2/", { headers: { Authorization: `Bearer ${token}` } });
        expect(stale.status).toBe(401);
        expect(stale.text).toContain("Token subject is no longer a user");
      })();
    } finally {
      await berth.stop();
    }
  }, 60_000);
});
