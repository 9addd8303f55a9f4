/**
 * The storage contract (src/storage/driver.ts) as tests, run against every driver, as
 * Distribution's storage/driver/testsuites: a driver that passes this can carry the registry.
 * Each test gets a fresh, empty driver from `make` and cleans it up afterwards.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { PathNotFoundError, type StorageDriver, type WalkEntry } from "../../src/storage/driver.ts";

export interface DriverUnderTest {
  driver: StorageDriver;
  cleanup(): Promise<void>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call
  for (let offset = 0; offset < size; offset += 64 * KiB) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 64 * KiB, size)));
  }
  return bytes;
}

function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export async function walked(iterable: AsyncIterable<WalkEntry>): Promise<WalkEntry[]> {
  const entries: WalkEntry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The rejection of `action` (run even when it throws at once), or null when it resolved. */
async function failureOf(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
    return null;
  } catch (error) {
    return error;
  }
}

async function expectNotFound(action: () => Promise<unknown>, path: string): Promise<void> {
  const error = await failureOf(action);
  expect(error).toBeInstanceOf(PathNotFoundError);
  if (error instanceof PathNotFoundError) expect(error.path).toBe(path);
}

/** A Blob's size, where the driver knows it without a request (an S3File's is NaN: stat gives it). */
function expectBlobSize(blob: Blob, size: number): void {
  if (!Number.isNaN(blob.size)) expect(blob.size).toBe(size);
}

export function runDriverSuite(name: string, make: () => Promise<DriverUnderTest>): void {
  describe(`${name} storage driver`, () => {
    let current: DriverUnderTest | null = null;
    beforeEach(async () => {
      current = await make();
    });
    afterEach(async () => {
      await current?.cleanup();
      current = null;
    });
    function driver(): StorageDriver {
      if (!current) throw new Error("no driver: make() failed");
      return current.driver;
    }
    async function text(path: string): Promise<string> {
      return decoder.decode(await driver().getContent(path));
    }

    describe("content", () => {
      test("getContent returns what putContent stored: text, empty and binary", async () => {
        const d = driver();
        await d.putContent("c/text", "hello, wörld ✓");
        await d.putContent("c/empty", new Uint8Array());
        const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
        const binary = concat(everyByte, randomBytes(MiB));
        await d.putContent("c/binary", binary);
        await d.putContent("c/fast", "not durable", { durable: false });

        expect(await text("c/text")).toBe("hello, wörld ✓");
        expect((await d.getContent("c/empty")).byteLength).toBe(0);
        expect((await d.stat("c/empty")).size).toBe(0);
        expect(sameBytes(await d.getContent("c/binary"), binary)).toBe(true);
        expect((await d.stat("c/binary")).size).toBe(binary.byteLength);
        expect(await text("c/fast")).toBe("not durable");
      });

      test("an overwrite replaces the whole content, also with shorter content", async () => {
        const d = driver();
        await d.putContent("c/file", randomBytes(100 * KiB));
        await d.putContent("c/file", "short");
        expect(await text("c/file")).toBe("short");
        expect((await d.stat("c/file")).size).toBe(5);
      });

      test("stored bytes are the driver's own: the caller's buffers may change afterwards", async () => {
        const d = driver();
        const buffer = randomBytes(4 * KiB);
        const original = buffer.slice();
        await d.putContent("c/copied", buffer);
        buffer.fill(0);
        const read = await d.getContent("c/copied");
        expect(sameBytes(read, original)).toBe(true);
        read.fill(1);
        expect(sameBytes(await d.getContent("c/copied"), original)).toBe(true);
      });
    });

    test("readers during many overwrites see a whole old or a whole new value, never a part", async () => {
      const d = driver();
      const versions = 40;
      // version v: every byte is v, and each version has its own length, so a torn read shows
      const lengthOf = (v: number) => 64 * KiB * (1 + (v % 5)) + v;
      const values = Array.from({ length: versions + 1 }, (_, v) => new Uint8Array(lengthOf(v)).fill(v));
      const lengths = new Set(values.map((value) => value.byteLength));
      const path = "atomic/value";
      await d.putContent(path, values[0] as Uint8Array);

      let done = false;
      const torn: string[] = [];
      let reads = 0;
      const check = (bytes: Uint8Array, how: string) => {
        reads++;
        const value = values[bytes[0] ?? -1];
        if (!value || !sameBytes(bytes, value)) torn.push(`${how}: ${bytes.byteLength} bytes starting ${bytes[0]}`);
      };
      const readers = [
        async () => check(await d.getContent(path), "getContent"),
        async () => check(new Uint8Array(await d.blob(path).arrayBuffer()), "blob"),
        async () => {
          const size = (await d.stat(path)).size;
          reads++;
          if (!lengths.has(size)) torn.push(`stat: ${size} bytes`);
        },
      ].map(async (read) => {
        for (let i = 0; i < 5_000 && !done; i++) await read();
      });
      try {
        for (let v = 1; v <= versions; v++) await d.putContent(path, values[v] as Uint8Array, { durable: false });
      } finally {
        done = true;
        await Promise.all(readers);
      }
      expect(torn).toEqual([]);
      expect(reads).toBeGreaterThan(0);
      expect(sameBytes(await d.getContent(path), values[versions] as Uint8Array)).toBe(true);
    });

    test("list and walk never show temp objects, also while writes are in flight", async () => {
      const d = driver();
      await d.putContent("t/a", "a");
      const writer = await d.writer("t/c");
      await writer.write(randomBytes(64 * KiB));
      const big = randomBytes(16 * MiB);
      let settled = false;
      const put = d.putContent("t/b", big).finally(() => (settled = true));
      const allowed = new Set(["a", "b", "c"]);
      try {
        for (let i = 0; i < 1_000 && !settled; i++) {
          const names = await d.list("t");
          expect(names).toContain("a");
          for (const name of names) expect(allowed).toContain(name);
          for (const entry of await walked(d.walk("t"))) expect(allowed).toContain(entry.path.slice("t/".length));
        }
      } finally {
        await put;
        await writer.close();
      }
      expect((await d.list("t")).sort()).toEqual(["a", "b", "c"]);
      const entries = await walked(d.walk("t"));
      expect(entries.map(({ path, size }) => ({ path, size }))).toEqual([
        { path: "t/a", size: 1 },
        { path: "t/b", size: 16 * MiB },
        { path: "t/c", size: 64 * KiB },
      ]);
    });

    describe("move", () => {
      test("moves a file to a new path, creating missing parents; the source is gone", async () => {
        const d = driver();
        const content = randomBytes(200 * KiB);
        await d.putContent("m/source", content);
        await d.move("m/source", "n/deep/er/target");
        expect(sameBytes(await d.getContent("n/deep/er/target"), content)).toBe(true);
        await expectNotFound(() => d.getContent("m/source"), "m/source");
        expect(await d.list("m")).toEqual([]);
        expect(await d.list("n/deep/er")).toEqual(["target"]);
        expect((await d.stat("n/deep")).isDirectory).toBe(true);
      });

      test("replaces what is at the destination", async () => {
        const d = driver();
        await d.putContent("m/new", "new");
        await d.putContent("m/old", "old, and longer");
        await d.move("m/new", "m/old");
        expect(await text("m/old")).toBe("new");
        expect(await d.list("m")).toEqual(["old"]);
      });

      test("relaxed writes and moves read back at once; sync resolves after them", async () => {
        const d = driver();
        await d.putContent("r/a", "relaxed", { durable: false });
        await d.putContent("r/b", "to move", { durable: false });
        await d.move("r/b", "r/deep/c", { durable: false });
        await Promise.all([d.sync(), d.sync(), d.sync()]);
        expect(await text("r/a")).toBe("relaxed");
        expect(await text("r/deep/c")).toBe("to move");
        await expectNotFound(() => d.getContent("r/b"), "r/b");
      });

      test("a missing source is PathNotFoundError and changes nothing", async () => {
        const d = driver();
        await d.putContent("m/keep", "keep");
        await expectNotFound(() => d.move("m/missing", "m/keep"), "m/missing");
        expect(await text("m/keep")).toBe("keep");
        await expectNotFound(() => d.move("m/missing", "x/y/z"), "m/missing");
        await expectNotFound(() => d.stat("x"), "x"); // no parents left behind
      });
    });

    describe("absent paths", () => {
      test("getContent, stat and move throw PathNotFoundError naming the path", async () => {
        const d = driver();
        await d.putContent("f/file", "x");
        await expectNotFound(() => d.getContent("nothing"), "nothing");
        await expectNotFound(() => d.getContent("f/other"), "f/other");
        await expectNotFound(() => d.getContent("f/file/below"), "f/file/below");
        await expectNotFound(() => d.stat("nothing/at/all"), "nothing/at/all");
        await expectNotFound(() => d.stat("f/file/below"), "f/file/below");
        await expectNotFound(() => d.move("nothing", "f/moved"), "nothing");
      });

      test("delete, list and walk of an absent path succeed with nothing", async () => {
        const d = driver();
        await d.putContent("f/file", "x");
        await d.delete("nothing");
        await d.delete("f/nothing/below");
        expect(await d.list("nothing")).toEqual([]);
        expect(await d.list("nothing/at/all")).toEqual([]);
        expect(await walked(d.walk("nothing"))).toEqual([]);
        expect(await text("f/file")).toBe("x");
      });

      test("reading the Blob of an absent path fails", async () => {
        const error = await failureOf(async () => driver().blob("nothing").arrayBuffer());
        expect(error).toBeInstanceOf(Error);
      });
    });

    test("list names direct children and walk finds every file below, in nested trees", async () => {
      const d = driver();
      const files: Record<string, string> = {
        "tree/a/b/c.txt": "c",
        "tree/a/b/d.txt": "dd",
        "tree/a/e.txt": "eee",
        "tree/a/f/g/h.txt": "hhhh",
        "tree/top": "top--",
        "tree-sibling/x": "xxxxxx",
      };
      for (const [path, content] of Object.entries(files)) await d.putContent(path, content);

      expect((await d.list("tree")).sort()).toEqual(["a", "top"]);
      expect((await d.list("tree/a")).sort()).toEqual(["b", "e.txt", "f"]);
      expect(await d.list("tree/a/f")).toEqual(["g"]);
      expect(await d.list("tree/top")).toEqual([]);
      expect((await d.list("")).sort()).toEqual(["tree", "tree-sibling"]);

      const all = await walked(d.walk(""));
      expect(all.map(({ path, size }) => [path, size])).toEqual(
        Object.entries(files)
          .map(([path, content]) => [path, content.length])
          .sort(),
      );
      for (const entry of all) expect(Number.isNaN(entry.modified.getTime())).toBe(false);
      expect((await walked(d.walk("tree"))).map((e) => e.path)).toEqual(Object.keys(files).filter((p) => p.startsWith("tree/")).sort());
      expect((await walked(d.walk("tree/a/f"))).map((e) => e.path)).toEqual(["tree/a/f/g/h.txt"]);
      expect(await walked(d.walk("tree/top"))).toEqual([]);
    });

    test("stat tells files from directories", async () => {
      const d = driver();
      await d.putContent("s/dir/file", "12345");
      const file = await d.stat("s/dir/file");
      expect(file.isDirectory).toBe(false);
      expect(file.size).toBe(5);
      expect(Number.isNaN(file.modified.getTime())).toBe(false);
      expect((await d.stat("s/dir")).isDirectory).toBe(true);
      expect((await d.stat("s")).isDirectory).toBe(true);
      await d.putContent("s/dir/file", "123");
      expect((await d.stat("s/dir/file")).size).toBe(3);
    });

    describe("delete", () => {
      test("removes a whole tree and nothing beside it", async () => {
        const d = driver();
        for (const path of ["del/a/1", "del/a/2/3", "del/b", "del-x/keep", "delx"]) await d.putContent(path, path);
        await d.delete("del/a");
        expect((await walked(d.walk("del"))).map((e) => e.path)).toEqual(["del/b"]);
        await expectNotFound(() => d.getContent("del/a/2/3"), "del/a/2/3");
        await expectNotFound(() => d.stat("del/a"), "del/a");
        await d.delete("del");
        expect((await walked(d.walk(""))).map((e) => e.path)).toEqual(["del-x/keep", "delx"]);
        expect((await d.list("")).sort()).toEqual(["del-x", "delx"]);
      });

      test("removes one file and leaves its siblings", async () => {
        const d = driver();
        await d.putContent("f/1", "1");
        await d.putContent("f/2", "2");
        await d.delete("f/1");
        expect(await d.list("f")).toEqual(["2"]);
        await expectNotFound(() => d.getContent("f/1"), "f/1");
      });
    });

    describe("writer", () => {
      test("creates the file and its parents; close keeps what was written", async () => {
        const d = driver();
        const writer = await d.writer("w/new/dir/data");
        expect(writer.size).toBe(0);
        await writer.write(encoder.encode("hello "));
        expect(writer.size).toBe(6);
        await writer.close();
        expect(await text("w/new/dir/data")).toBe("hello ");
        expect((await d.stat("w/new/dir/data")).size).toBe(6);
      });

      test("a new writer resumes at the end of the content; commit keeps everything", async () => {
        const d = driver();
        await d.putContent("w/data", "abc");
        const first = await d.writer("w/data");
        expect(first.size).toBe(3);
        await first.write(encoder.encode("def"));
        await first.close();
        const second = await d.writer("w/data");
        expect(second.size).toBe(6);
        await second.write(encoder.encode("ghi"));
        expect(second.size).toBe(9);
        await second.commit();
        expect(await text("w/data")).toBe("abcdefghi");
        expect((await d.writer("w/data")).size).toBe(9);
      });

      test("a few bytes appended to a large file keep the whole file", async () => {
        const d = driver();
        const large = randomBytes(3 * MiB);
        await d.putContent("w/large", large);
        const writer = await d.writer("w/large");
        await writer.write(encoder.encode("tail"));
        await writer.close();
        expect(sameBytes(await d.getContent("w/large"), concat(large, encoder.encode("tail")))).toBe(true);
      });

      test("cancel drops only what this writer appended", async () => {
        const d = driver();
        const first = await d.writer("w/data");
        await first.write(encoder.encode("first"));
        await first.close();
        const second = await d.writer("w/data");
        await second.write(encoder.encode("-second"));
        await second.write(randomBytes(256 * KiB));
        expect(second.size).toBe(5 + 7 + 256 * KiB);
        await second.cancel();
        expect(second.size).toBe(5);
        expect(await text("w/data")).toBe("first");
        expect((await d.stat("w/data")).size).toBe(5);
        expect((await d.writer("w/data")).size).toBe(5);

        const fresh = await d.writer("w/fresh");
        await fresh.write(encoder.encode("gone"));
        await fresh.cancel();
        expect((await d.getContent("w/fresh")).byteLength).toBe(0);
      });

      test.each(["close", "commit", "cancel"] as const)("after %s, write, commit and cancel throw and close does nothing", async (finish) => {
        const d = driver();
        const writer = await d.writer("w/data");
        await writer.write(encoder.encode("kept"));
        await writer[finish]();
        const expected = finish === "cancel" ? "" : "kept";
        expect(await failureOf(() => writer.write(encoder.encode("late")))).toBeInstanceOf(Error);
        expect(await failureOf(() => writer.commit())).toBeInstanceOf(Error);
        expect(await failureOf(() => writer.cancel())).toBeInstanceOf(Error);
        await writer.close();
        expect(await text("w/data")).toBe(expected);
      });

      test("a chunk is the driver's once write resolves: the caller may reuse the buffer", async () => {
        const d = driver();
        const buffer = randomBytes(4 * KiB);
        const original = buffer.slice();
        const writer = await d.writer("w/data");
        await writer.write(buffer);
        buffer.fill(7);
        await writer.write(buffer);
        await writer.close();
        expect(sameBytes(await d.getContent("w/data"), concat(original, new Uint8Array(4 * KiB).fill(7)))).toBe(true);
      });
    });

    describe("streams", () => {
      test("64 MiB written in 1 MiB chunks read back whole through blob().stream()", async () => {
        const d = driver();
        const base = randomBytes(MiB);
        const written = new Bun.CryptoHasher("sha256");
        const writer = await d.writer("big/data");
        for (let i = 0; i < 64; i++) {
          const chunk = base.slice();
          new DataView(chunk.buffer).setUint32(0, i); // each chunk differs: order and duplicates show
          written.update(chunk);
          await writer.write(chunk);
        }
        expect(writer.size).toBe(64 * MiB);
        await writer.commit();
        expect((await d.stat("big/data")).size).toBe(64 * MiB);

        const blob = d.blob("big/data");
        expectBlobSize(blob, 64 * MiB);
        const read = new Bun.CryptoHasher("sha256");
        let bytes = 0;
        for await (const chunk of blob.stream()) {
          read.update(chunk);
          bytes += chunk.byteLength;
        }
        expect(bytes).toBe(64 * MiB);
        expect(read.digest("hex")).toBe(written.digest("hex"));
      });

      test("concurrent writers to different paths each keep their own bytes", async () => {
        const d = driver();
        const chunks = Array.from({ length: 8 }, () => Array.from({ length: 16 }, () => randomBytes(64 * KiB)));
        await Promise.all(
          chunks.map(async (own, k) => {
            const writer = await d.writer(`concurrent/${k}/data`);
            for (const chunk of own) {
              await writer.write(chunk);
              await Bun.sleep(0); // let the others write in between
            }
            await (k % 2 === 0 ? writer.commit() : writer.close());
          }),
        );
        for (const [k, own] of chunks.entries()) {
          expect(sameBytes(await d.getContent(`concurrent/${k}/data`), concat(...own))).toBe(true);
        }
      });

      test("blob slices read exactly the requested range", async () => {
        const d = driver();
        const content = Uint8Array.from({ length: 10_000 }, (_, i) => i % 251);
        await d.putContent("r/data", content);
        const blob = d.blob("r/data");
        expectBlobSize(blob, 10_000);
        const range = async (start: number, end?: number) => new Uint8Array(await blob.slice(start, end).arrayBuffer());
        expect(sameBytes(await range(100, 356), content.subarray(100, 356))).toBe(true);
        expect(sameBytes(await range(9_990), content.subarray(9_990))).toBe(true);
        // Bun's S3File.slice(500, 500) reads one byte (Bun 1.4.5): an empty range is never asked by Berth
        if (!Number.isNaN(blob.size)) expect((await range(500, 500)).byteLength).toBe(0);
        expect(sameBytes(new Uint8Array(await blob.arrayBuffer()), content)).toBe(true);
      });
    });
  });
}
