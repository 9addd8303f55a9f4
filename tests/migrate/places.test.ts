/**
 * berth migrate's two ends: the target file is read without BERTH_* variables (they describe
 * the source), neither half is copied onto itself, and database passwords are not printed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfiguration } from "../../src/config/load.ts";
import { checkDistinct, describe as describePlace, loadTarget, redactedUrl } from "../../src/migrate/places.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-migrate-places-");
afterAll(() => removeDir(dir));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("the ends of a migration", () => {
  test("the target file is read alone: BERTH_STORAGE_ROOT, which places the source, does not move it", () => {
    const to = file("to.toml", '[storage]\nroot = "target"\n[metadata]\nurl = "postgres://u:pw@db.example:5433/reg"\n');
    const previous = process.env.BERTH_STORAGE_ROOT;
    process.env.BERTH_STORAGE_ROOT = join(dir, "source");
    try {
      const target = loadTarget(to);
      expect(target.root).toBe(join(dir, "target"));
      expect(describePlace(target)).toEqual({ storage: `filesystem at ${join(dir, "target")}`, metadata: "PostgreSQL postgres://u:<redacted>@db.example:5433/reg" });
    } finally {
      if (previous === undefined) delete process.env.BERTH_STORAGE_ROOT;
      else process.env.BERTH_STORAGE_ROOT = previous;
    }
  });

  test("a half copied onto itself is refused, the other half may be shared", () => {
    const source = loadConfiguration({ path: file("source.toml", `[storage]\nroot = "${join(dir, "data")}"\n`), env: {} }).resolved;
    const sameRoot = loadTarget(file("same-root.toml", `[storage]\nroot = "${join(dir, "data")}"\n[metadata]\nurl = "postgres://u:pw@db/x"\n`));
    const place = { resolved: source, root: source.storage.root };
    expect(() => checkDistinct(place, sameRoot, { storage: true, metadata: true })).toThrow(/same storage/);
    expect(() => checkDistinct(place, sameRoot, { storage: false, metadata: true })).not.toThrow();
    const sameDatabase = loadTarget(file("same-db.toml", `[storage]\nroot = "${join(dir, "elsewhere")}"\n[metadata]\nurl = "sqlite:${join(dir, "data", "berth", "metadata.db")}"\n`));
    expect(() => checkDistinct(place, sameDatabase, { storage: true, metadata: true })).toThrow(/same metadata database/);
    expect(() => checkDistinct(place, sameDatabase, { storage: true, metadata: false })).not.toThrow();
    expect(() => loadTarget(file("memory.toml", '[storage]\ndriver = "inmemory"\n'))).toThrow(/inmemory/);
  });

  test("a URL without a password is shown as it is", () => {
    expect(redactedUrl("postgres://db.example/reg")).toBe("postgres://db.example/reg");
    expect(redactedUrl("postgresql://a:b@h/d?sslmode=require")).toBe("postgresql://a:<redacted>@h/d?sslmode=require");
  });
});
