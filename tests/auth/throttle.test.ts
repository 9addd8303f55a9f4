/** Failed-login throttling with a fake clock. */
import { describe, expect, test } from "bun:test";
import { LoginThrottle } from "../../src/auth/throttle.ts";

function throttle(maxEntries?: number) {
  let now = 1_000_000;
  const t = new LoginThrottle({ failures: 3, windowMs: 60_000, lockoutMs: 10_000, now: () => now, ...(maxEntries ? { maxEntries } : {}) });
  return { t, advance: (ms: number) => (now += ms) };
}

describe("LoginThrottle", () => {
  test("locks a (address, user) pair out after the configured failures, and only that pair", () => {
    const { t } = throttle();
    for (let i = 0; i < 2; i++) t.failure("10.0.0.1", "alice");
    expect(t.retryAfter("10.0.0.1", "alice")).toBe(0);
    t.failure("10.0.0.1", "alice");
    expect(t.retryAfter("10.0.0.1", "alice")).toBe(10);
    expect(t.retryAfter("10.0.0.1", "bob")).toBe(0);
    expect(t.retryAfter("10.0.0.2", "alice")).toBe(0);
  });

  test("the lockout ends, and doubles with each further failure", () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 3; i++) t.failure("a", "u");
    advance(10_001);
    expect(t.retryAfter("a", "u")).toBe(0);
    t.failure("a", "u");
    expect(t.retryAfter("a", "u")).toBe(20);
    advance(20_001);
    t.failure("a", "u");
    expect(t.retryAfter("a", "u")).toBe(40);
  });

  test("a success clears the pair; a quiet window forgets old failures", () => {
    const { t, advance } = throttle();
    t.failure("a", "u");
    t.failure("a", "u");
    t.success("a", "u");
    t.failure("a", "u");
    expect(t.retryAfter("a", "u")).toBe(0);
    t.failure("a", "u");
    advance(60_001);
    t.failure("a", "u");
    expect(t.retryAfter("a", "u")).toBe(0);
  });

  test("one address trying many names is stopped at ten times the limit", () => {
    const { t } = throttle();
    for (let i = 0; i < 29; i++) t.failure("spray", `user${i}`);
    expect(t.retryAfter("spray", "fresh")).toBe(0);
    t.failure("spray", "user29");
    expect(t.retryAfter("spray", "fresh")).toBeGreaterThan(0);
    expect(t.retryAfter("elsewhere", "fresh")).toBe(0);
  });

  test("memory stays bounded", () => {
    const { t } = throttle(100);
    for (let i = 0; i < 1000; i++) t.failure(`addr${i}`, "u");
    const entries = (t as unknown as { entries: Map<string, unknown> }).entries;
    expect(entries.size).toBeLessThanOrEqual(100);
  });

  test("checks in flight count: parallel guesses for one pair reserve at most `failures` checks", () => {
    const { t } = throttle();
    const reserved = Array.from({ length: 10 }, () => t.reserve("a", "u"));
    expect(reserved.filter((wait) => wait === 0).length).toBe(3);
    expect(reserved.slice(3).every((wait) => wait > 0)).toBe(true);
    for (let i = 0; i < 3; i++) t.settle("a", "u", false);
    expect(t.retryAfter("a", "u")).toBe(10);
  });

  test("checks in flight count: one address guessing many names reserves at most ten times `failures`", () => {
    const { t } = throttle();
    const reserved = Array.from({ length: 100 }, (_, i) => t.reserve("spray", `user${i}`));
    expect(reserved.filter((wait) => wait === 0).length).toBe(30);
    for (let i = 0; i < 30; i++) t.settle("spray", `user${i}`, false);
    expect(t.retryAfter("spray", "fresh")).toBeGreaterThan(0);
    // other addresses are not held up by it
    expect(t.reserve("elsewhere", "user0")).toBe(0);
  });

  test("a settled success releases its reservation and clears the pair", () => {
    const { t } = throttle();
    t.failure("a", "u");
    t.failure("a", "u");
    expect(t.reserve("a", "u")).toBe(0);
    t.settle("a", "u", true);
    for (let i = 0; i < 2; i++) {
      expect(t.reserve("a", "u")).toBe(0);
      t.settle("a", "u", false);
    }
    expect(t.retryAfter("a", "u")).toBe(0);
  });

  test("after a lockout ends, one check at a time may start", () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 3; i++) t.failure("a", "u");
    advance(10_001);
    expect(t.reserve("a", "u")).toBe(0);
    expect(t.reserve("a", "u")).toBeGreaterThan(0);
    t.settle("a", "u", false);
    expect(t.retryAfter("a", "u")).toBe(20);
  });
});
