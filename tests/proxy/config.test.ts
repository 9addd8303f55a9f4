/** [[proxy]] and [[replication]] as the configuration reads them: defaults, ms, redaction, refusals naming the key. */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkPluginConfig } from "../../src/cli/plugins.ts";
import { loadConfiguration } from "../../src/config/load.ts";
import { redactConfig } from "../../src/config/redact.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-proxy-config-");
afterAll(() => removeDir(dir));
let files = 0;
const load = (text: string) => {
  const path = join(dir, `config-${++files}.toml`);
  writeFileSync(path, text);
  return loadConfiguration({ env: {}, cwd: dir, path });
};

test("[[proxy]] resolves with its defaults, the URL without a trailing slash, durations in ms", () => {
  const { resolved, config } = load('[[proxy]]\nprefix = "dockerhub"\nurl = "https://registry-1.docker.io/"\nusername = "me"\npassword = "hunter2"\n\n[[proxy]]\nprefix = ""\nurl = "http://127.0.0.1:5001"\nttl = "5m"\n');
  expect(resolved.proxy).toEqual([
    { prefix: "dockerhub", url: "https://registry-1.docker.io", username: "me", password: "hunter2", ttlMs: 3_600_000, timeoutMs: 30_000 },
    { prefix: "", url: "http://127.0.0.1:5001", username: "", password: "", ttlMs: 300_000, timeoutMs: 30_000 },
  ]);
  expect(JSON.stringify(redactConfig(config))).not.toContain("hunter2");
});

test("a [[proxy]] without a url, or with a path in it, is refused naming the key", () => {
  expect(() => load('[[proxy]]\nprefix = "x"\n')).toThrow(/proxy/);
  expect(() => load('[[proxy]]\nprefix = "x"\nurl = "https://example.com/v2/"\n')).toThrow(/proxy.*url/);
  expect(() => load('[[proxy]]\nprefix = "Bad Prefix"\nurl = "https://example.com"\n')).toThrow(/prefix/);
});

test("[[replication]] rules are checked by the replication plugin, naming the key", async () => {
  const good = load('[[replication]]\nurl = "https://standby:5000"\nrepositories = ["team/**"]\ndeletes = true\n');
  await checkPluginConfig(good.resolved);
  const bad = load('[[replication]]\nurl = "https://standby:5000"\nmode = "pull"\n');
  await expect(checkPluginConfig(bad.resolved)).rejects.toThrow(/replication\[0\]\.mode/);
  const twice = load('[[replication]]\nurl = "https://standby:5000"\n\n[[replication]]\nurl = "https://standby:5000"\n');
  await expect(checkPluginConfig(twice.resolved)).rejects.toThrow(/used twice/);
});
