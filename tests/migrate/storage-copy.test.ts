/**
 * berth migrate's storage half between two filesystem drivers: only the shared objects go
 * (not berth/'s local state), blobs are verified while copied (small ones read whole, large ones
 * streamed), a second run skips what is there, a shorter copy left by an interrupted run is
 * replaced, and a dry run writes nothing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { copyStorage } from "../../src/migrate/storage-copy.ts";
import { expectedDigest, MIGRATED_TREES } from "../../src/migrate/objects.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { randomBytes, sha256, sha512, hexOf } from "../helpers/oci.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

function root(): string {
  const dir = tempDir("berth-migrate-");
  dirs.push(dir);
  return dir;
}

function put(base: string, path: string, content: Uint8Array | string): void {
  mkdirSync(dirname(join(base, path)), { recursive: true });
  writeFileSync(join(base, path), content);
}

function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(":") as [string, string];
  return `docker/registry/v2/blobs/${algorithm}/${hex.slice(0, 2)}/${hex}/data`;
}

async function contents(driver: FilesystemDriver): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const tree of ["docker", "berth"]) {
    for await (const entry of driver.walk(tree)) found.set(entry.path, sha256(await driver.getContent(entry.path)));
  }
  return found;
}

/** A source root with a small blob, a large one (streamed), a sha512 one, links, an upload and berth/ state. */
function sourceTree(): { dir: string; shared: string[]; local: string[] } {
  const dir = root();
  const small = randomBytes(1000);
  const large = randomBytes(5 * 1024 * 1024 + 17);
  const long = randomBytes(300);
  const shared = [
    blobPath(sha256(small)),
    blobPath(sha256(large)),
    blobPath(sha512(long)),
    `docker/registry/v2/repositories/team/app/_layers/sha256/${hexOf(sha256(small))}/link`,
    "docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link",
    "docker/registry/v2/repositories/team/app/_uploads/0b1c/data",
    "docker/registry/v2/repositories/team/app/_uploads/0b1c/startedat",
    "berth/referrers/team/app/_built",
    "berth/auth/token-key.jwk",
  ];
  put(dir, shared[0] as string, small);
  put(dir, shared[1] as string, large);
  put(dir, shared[2] as string, long);
  for (const path of shared.slice(3)) put(dir, path, `content of ${path}`);
  const local = ["berth/lock", "berth/metadata.db", "berth/metadata.db-wal", "berth/plugins/webhook/queue.db", "berth/healthz"];
  for (const path of local) put(dir, path, "local");
  return { dir, shared, local };
}

describe("copyStorage (filesystem to filesystem)", () => {
  test("copies the shared objects byte for byte and leaves berth/'s local state; a second run skips them all", async () => {
    const { dir, shared, local } = sourceTree();
    const source = new FilesystemDriver(dir);
    const target = new FilesystemDriver(root());
    const first = await copyStorage(source, target, { dryRun: false });
    expect(first.failures).toEqual([]);
    expect(first.copied).toBe(shared.length);
    expect(first.skipped).toBe(0);
    const copied = await contents(target);
    expect([...copied.keys()].sort()).toEqual([...shared].sort());
    const original = await contents(source);
    for (const path of shared) expect(copied.get(path)).toBe(original.get(path) as string);
    for (const path of local) expect(copied.has(path)).toBe(false);

    const second = await copyStorage(source, target, { dryRun: false });
    expect(second).toEqual({ copied: 0, bytes: 0, skipped: shared.length, failures: [] });
  });

  test("an object of another size at the target (an interrupted copy) is replaced", async () => {
    const { dir, shared } = sourceTree();
    const targetDir = root();
    const large = shared[1] as string;
    const original = new Uint8Array(await new FilesystemDriver(dir).getContent(large));
    put(targetDir, large, original.subarray(0, 1024 * 1024)); // what a cut-short writer leaves
    const target = new FilesystemDriver(targetDir);
    const report = await copyStorage(new FilesystemDriver(dir), target, { dryRun: false });
    expect(report.failures).toEqual([]);
    expect(report.copied).toBe(shared.length);
    expect(sha256(await target.getContent(large))).toBe(sha256(original));
  });

  test("a corrupt blob, small or streamed, is refused with both digests and nothing of it stays at the target", async () => {
    const { dir, shared } = sourceTree();
    const [small, large] = shared as [string, string];
    for (const path of [small, large]) {
      const bytes = new Uint8Array(await new FilesystemDriver(dir).getContent(path));
      bytes[10] = (bytes[10] as number) ^ 0xff; // same size, other bytes
      put(dir, path, bytes);
    }
    const target = new FilesystemDriver(root());
    const report = await copyStorage(new FilesystemDriver(dir), target, { dryRun: false });
    expect(report.copied).toBe(shared.length - 2);
    expect(report.failures).toHaveLength(2);
    for (const path of [small, large]) {
      const failure = report.failures.find((line) => line.startsWith(path)) ?? "";
      expect(failure).toContain(`not sha256:${path.split("/").at(-2) ?? ""}`);
      expect(failure).toContain("corrupt");
      expect(existsSync(join(target.root, path))).toBe(false);
    }
  });

  test("a dry run counts what would be copied and writes nothing", async () => {
    const { dir, shared } = sourceTree();
    const targetDir = root();
    const listed: string[] = [];
    const report = await copyStorage(new FilesystemDriver(dir), new FilesystemDriver(targetDir), { dryRun: true, onObject: (entry) => listed.push(entry.path) });
    expect(report.copied).toBe(shared.length);
    expect(listed.sort()).toEqual([...shared].sort());
    expect(existsSync(join(targetDir, "docker"))).toBe(false);
  });
});

describe("which objects are blobs to verify", () => {
  test("a data file under blobs/ names its digest; other paths none; a malformed one is refused", () => {
    const digest = sha256("x");
    expect(expectedDigest(blobPath(digest))).toEqual({ algorithm: "sha256", hex: hexOf(digest) });
    expect(expectedDigest("docker/registry/v2/repositories/a/_layers/sha256/ab/link")).toBeNull();
    expect(() => expectedDigest(`docker/registry/v2/blobs/md5/ab/abcd/data`)).toThrow(/algorithm "md5"/);
    expect(() => expectedDigest(`docker/registry/v2/blobs/sha256/zz/${hexOf(digest)}/data`)).toThrow(/not a blob path/);
    expect(MIGRATED_TREES).toEqual(["docker/registry/v2", "berth/referrers", "berth/auth"]);
  });
});
