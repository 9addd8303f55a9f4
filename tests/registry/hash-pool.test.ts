import { afterEach, expect, test } from "bun:test";
import { HashPool } from "../../src/registry/hash-pool.ts";

const pools: HashPool[] = [];
afterEach(() => pools.splice(0).forEach((pool) => pool.close()));

function pool(): HashPool {
  const made = new HashPool();
  pools.push(made);
  return made;
}

function random(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  return bytes;
}

function hex(parts: Uint8Array[]): string {
  const hasher = new Bun.CryptoHasher("sha256");
  for (const part of parts) hasher.update(part);
  return hasher.digest("hex");
}

test("many small chunks, batched, hash as the whole body; sizes around the batch size too", async () => {
  const p = pool();
  for (const [size, count] of [[32 * 1024, 40], [1, 5], [512 * 1024, 3], [700 * 1024, 2]] as const) {
    const key = `k${size}`;
    const parts = Array.from({ length: count }, () => random(size));
    const expected = hex(parts);
    for (const part of parts) await p.update(key, new Uint8Array(part)); // each its own buffer, transferred
    expect(await p.digest(key)).toBe(expected);
  }
});

test("a flush between requests and a view into a larger buffer keep the order; a dropped key starts afresh", async () => {
  const p = pool();
  const big = crypto.getRandomValues(new Uint8Array(4096));
  const a = big.subarray(0, 1000);
  const b = big.subarray(1000, 3000);
  const expected = hex([a, b]);
  await p.update("u", a);
  p.flush("u");
  await p.update("u", b);
  expect(await p.digest("u")).toBe(expected);
  expect(big.byteLength).toBe(4096); // views were copied, not transferred

  await p.update("d", crypto.getRandomValues(new Uint8Array(100)));
  p.drop("d");
  const fresh = crypto.getRandomValues(new Uint8Array(50));
  await p.update("d", new Uint8Array(fresh));
  expect(await p.digest("d")).toBe(hex([fresh]));
});
