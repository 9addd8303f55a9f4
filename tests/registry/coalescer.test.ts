import { expect, test } from "bun:test";
import { Coalescer } from "../../src/registry/coalescer.ts";

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const flat = (buffers: Uint8Array[]) => buffers.flatMap((b) => [...b]);

test("small chunks come out as full buffers once enough has gathered, in order; the rest on take", () => {
  const c = new Coalescer(10);
  expect(c.add(bytes(4, 1))).toEqual([]);
  expect(c.add(bytes(4, 2))).toEqual([]);
  expect(c.pending).toBe(8);
  const out = c.add(bytes(4, 3));
  expect(flat(out)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
  expect(c.pending).toBe(2);
  expect([...(c.take() ?? [])]).toEqual([3, 3]);
  expect(c.take()).toBeNull();
});

test("chunks are copied: changing one afterwards changes nothing gathered", () => {
  const c = new Coalescer(8);
  const chunk = bytes(4, 1);
  c.add(chunk);
  chunk.fill(9);
  expect([...(c.take() ?? [])]).toEqual([1, 1, 1, 1]);
});

test("a large chunk with nothing gathered passes through; after a partial one it is split", () => {
  const c = new Coalescer(10);
  const big = bytes(16, 7);
  expect(c.add(big)).toEqual([big]);
  expect(c.add(big)[0]).toBe(big);
  c.add(bytes(3, 1));
  const out = c.add(bytes(25, 2));
  expect(out.map((b) => b.byteLength)).toEqual([10, 10]);
  expect(flat(out)).toEqual([1, 1, 1, ...new Array(17).fill(2)]);
  expect(c.take()?.byteLength).toBe(8);
});
