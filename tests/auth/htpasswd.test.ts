/** The htpasswd file: Apache's format and hashes, edits, reloads, and password checks. */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HtpasswdFile, parseHtpasswd, removeUserLine, setUserLine, writeFileAtomic } from "../../src/auth/htpasswd.ts";
import { hashParameters, hashPassword, isSupportedHash, verifyPassword } from "../../src/auth/password.ts";
import { UserStore } from "../../src/auth/users.ts";
import { exec } from "../helpers/docker.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-htpasswd-");
afterAll(() => removeDir(dir));

describe("parseHtpasswd", () => {
  test("reads name:hash lines, skips comments and blank lines, reports what it cannot use", () => {
    const bcrypt = "$2y$05$YCSvEsIMbLNOE6olTIqmdeywJ/M.isT/G.G7Ybe7X3Etb7bgfC2U.";
    const text = `# users\n\nalice:${bcrypt}\nbob:$apr1$abc$def\nbroken line\nalice:${bcrypt}\n`;
    const { users, problems } = parseHtpasswd(text);
    expect([...users.keys()]).toEqual(["alice"]);
    expect(problems).toEqual([
      'line 4: user "bob" has a hash Berth cannot verify (use bcrypt, htpasswd -B, or argon2id)',
      'line 5: not "name:hash"',
      'line 6: user "alice" appears again; the first entry counts',
    ]);
  });

  test("edits change one user's line and keep the rest", () => {
    const text = "# keep me\nalice:$2y$05$x\nbob:$2y$05$y\n";
    expect(setUserLine(text, "alice", "NEW")).toBe("# keep me\nalice:NEW\nbob:$2y$05$y\n");
    expect(setUserLine(text, "carol", "C")).toBe("# keep me\nalice:$2y$05$x\nbob:$2y$05$y\ncarol:C\n");
    expect(setUserLine("", "carol", "C")).toBe("carol:C\n");
    expect(removeUserLine(text, "alice")).toBe("# keep me\nbob:$2y$05$y\n");
    expect(removeUserLine(text, "nobody")).toBeNull();
    expect(() => setUserLine(text, "a:b", "x")).toThrow('Invalid user name "a:b"');
    expect(() => setUserLine(text, "a b", "x")).toThrow("no white space");
  });
});

describe("password hashes", () => {
  test("an entry written by Apache's htpasswd -B verifies", async () => {
    const file = join(dir, "apache");
    await exec(["htpasswd", "-B", "-b", "-c", file, "alice", "s3cret pass"]);
    const { users } = parseHtpasswd(readFileSync(file, "utf8"));
    const hash = users.get("alice") as string;
    expect(hash).toStartWith("$2y$05$");
    expect(await verifyPassword("s3cret pass", hash)).toBe(true);
    expect(await verifyPassword("s3cret pas", hash)).toBe(false);
  });

  test("Berth's bcrypt entries are $2y$ and Apache's htpasswd -v accepts them", async () => {
    const hash = await hashPassword("from berth", "bcrypt");
    expect(hash).toStartWith("$2y$10$");
    const file = join(dir, "berth-bcrypt");
    writeFileSync(file, `carol:${hash}\n`);
    const ok = await exec(["htpasswd", "-v", "-b", file, "carol", "from berth"], { allowFailure: true });
    expect(ok.exitCode).toBe(0);
    const bad = await exec(["htpasswd", "-v", "-b", file, "carol", "wrong"], { allowFailure: true });
    expect(bad.exitCode).not.toBe(0);
  });

  test("argon2id is the default and verifies", async () => {
    const hash = await hashPassword("pw");
    expect(hash).toStartWith("$argon2id$v=19$m=65536,t=2,p=1$");
    expect(isSupportedHash(hash)).toBe(true);
    expect(hashParameters(hash)).toBe("argon2id:65536:2");
    expect(await verifyPassword("pw", hash)).toBe(true);
    expect(await verifyPassword("pw2", hash)).toBe(false);
  });

  test("unsupported or garbage hashes never verify and never throw", async () => {
    for (const hash of ["$apr1$abc$def", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "plain", "", "$2y$05$short"]) {
      expect(await verifyPassword("password", hash)).toBe(false);
    }
  });
});

describe("HtpasswdFile and UserStore", () => {
  test("a change to the file is seen on the next check, without a restart", async () => {
    const path = join(dir, "live");
    writeFileAtomic(path, `alice:${await hashPassword("one", "bcrypt")}\n`);
    const problems: string[] = [];
    const file = new HtpasswdFile(path, (message) => problems.push(message));
    file.load();
    const store = new UserStore(file);
    expect(await store.verify("alice", "one")).toBe(true);
    expect(await store.verify("bob", "two")).toBe(false);

    writeFileAtomic(path, setUserLine(readFileSync(path, "utf8"), "bob", await hashPassword("two", "bcrypt")));
    expect(await store.verify("bob", "two")).toBe(true);

    // a changed password and a removed user take effect at once, even after a remembered success
    writeFileAtomic(path, setUserLine(readFileSync(path, "utf8"), "alice", await hashPassword("new", "bcrypt")));
    expect(await store.verify("alice", "one")).toBe(false);
    expect(await store.verify("alice", "new")).toBe(true);
    writeFileAtomic(path, removeUserLine(readFileSync(path, "utf8"), "alice") ?? "");
    expect(await store.verify("alice", "new")).toBe(false);
    expect(store.exists("alice")).toBe(false);

    // a file that disappears keeps the users read before, and says so
    removeDir(path);
    expect(await store.verify("bob", "two")).toBe(true);
    expect(problems.join("\n")).toContain("keeping the users read before");
  });

  test("an unknown user costs as much time as a wrong password for a known one", async () => {
    const path = join(dir, "timing");
    writeFileAtomic(path, `alice:${await hashPassword("right")}\nbob:${await hashPassword("other")}\n`);
    const file = new HtpasswdFile(path);
    file.load();
    const store = new UserStore(file);
    await store.warm();
    const median = async (user: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect(await store.verify(user, "wrong")).toBe(false);
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[2] as number;
    };
    const known = await median("alice");
    const unknown = await median("nobody-here");
    expect(known).toBeGreaterThan(20);
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  });
});
