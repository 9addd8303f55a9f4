/** Directory users as a source of accounts (a fake directory): the file first, remembering, unavailability, throttling. */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { HtpasswdFile } from "../../../src/auth/htpasswd.ts";
import type { DirectoryVerdict } from "../../../src/auth/ldap/directory.ts";
import { DirectorySource } from "../../../src/auth/ldap/source.ts";
import { Login } from "../../../src/auth/login.ts";
import { LoginThrottle } from "../../../src/auth/throttle.ts";
import { UserStore } from "../../../src/auth/users.ts";
import { writeHtpasswd } from "../../helpers/auth.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";

const dir = tempDir("berth-ldap-source-");
afterAll(() => removeDir(dir));

/** A directory that knows lena (password "lena-pw", group devs) and can be taken down. */
function fakeDirectory() {
  const state = { down: false, calls: 0 };
  const directory = {
    async authenticate(user: string, password: string): Promise<DirectoryVerdict> {
      state.calls++;
      if (state.down) return { ok: false, unavailable: "connection refused" };
      return user === "lena" && password === "lena-pw" ? { ok: true, groups: ["devs"] } : { ok: false };
    },
  };
  return { state, directory };
}

describe("DirectorySource", () => {
  test("a login is remembered for a minute; the groups are known as long as a token lives", async () => {
    const { state, directory } = fakeDirectory();
    let clock = 0;
    const source = new DirectorySource(directory, 5 * 60_000, () => clock);
    expect((await source.verify("lena", "lena-pw")).ok).toBe(true);
    expect((await source.verify("lena", "lena-pw")).ok).toBe(true);
    expect(state.calls).toBe(1);
    expect(source.groupsOf("lena")).toEqual(["devs"]);
    expect((await source.verify("lena", "other")).ok).toBe(false);
    expect(source.subject("lena")).toBeNull(); // a failed login forgets the user
    expect((await source.verify("lena", "lena-pw")).ok).toBe(true);
    clock += 61_000;
    expect((await source.verify("lena", "lena-pw")).ok).toBe(true);
    expect(state.calls).toBe(4);
    clock += 5 * 60_000 + 1;
    expect(source.subject("lena")).toBeNull();
    expect(source.groupsOf("lena")).toEqual([]);
  });

  test("a directory that does not answer is reported, not counted as a failed login", async () => {
    const { state, directory } = fakeDirectory();
    state.down = true;
    const source = new DirectorySource(directory, 60_000);
    expect(await source.verify("lena", "lena-pw")).toEqual({ ok: false, unavailable: "connection refused" });
    expect(await source.verify("", "x")).toEqual({ ok: false });
    expect(await source.verify("a\nb", "x")).toEqual({ ok: false });
  });
});

describe("Login with a directory", () => {
  const log = () => {};

  async function login(down = false) {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.htpasswd`);
    await writeHtpasswd(path, [{ name: "lena", password: "file-pw", algorithm: "bcrypt" }, { name: "alice", password: "alice-pw", algorithm: "bcrypt" }]);
    const file = new HtpasswdFile(path, () => {});
    file.load();
    const { state, directory } = fakeDirectory();
    state.down = down;
    const throttle = new LoginThrottle({ failures: 2, windowMs: 60_000, lockoutMs: 30_000 });
    return new Login(new UserStore(file), throttle, log, [new DirectorySource(directory, 60_000)]);
  }

  test("the file decides for its own names; other names go to the directory", async () => {
    const checker = await login();
    expect((await checker.check({ user: "lena", password: "lena-pw" }, "a")).ok).toBe(false);
    expect((await checker.check({ user: "lena", password: "file-pw" }, "a")).ok).toBe(true);
    const directoryUser = await (await login()).check({ user: "lena2", password: "x" }, "a");
    expect(directoryUser.ok).toBe(false);
  });

  test("directory down: 'unavailable' for its users, the file's users sign in, the throttle counts nothing", async () => {
    const checker = await login(true);
    for (let i = 0; i < 5; i++) {
      const result = await checker.check({ user: "dora", password: "x" }, "a");
      expect(result).toEqual({ ok: false, retryAfter: 0, unavailable: "connection refused" });
    }
    expect((await checker.check({ user: "alice", password: "alice-pw" }, "a")).ok).toBe(true);
  });
});
