/**
 * Failed-login throttling. Failures are counted per (client address, user name): after
 * `failures` of them, that pair is locked out for `lockoutMs`, doubling with each further
 * failure (at most 15 minutes). Other users, and the same user from another address, are not
 * slowed down. A looser limit per address (ten times as many failures, over any names) stops
 * one client from trying many names. A success clears the pair; quiet for `windowMs` clears
 * everything. Memory is bounded: the oldest entries go first.
 *
 * Checks in flight count against both limits: `reserve` before a password check, `settle`
 * after it. Otherwise guesses sent in parallel would all pass the test before the first
 * failure is counted (one address could have hundreds of passwords checked, not 10×failures).
 */

export interface ThrottleOptions {
  failures: number;
  windowMs: number;
  lockoutMs: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  count: number;
  /** checks reserved and not yet settled */
  pending: number;
  last: number;
  blockedUntil: number;
}

const MAX_LOCKOUT_MS = 15 * 60_000;
/** the per-address limit is this many times the per-pair one */
export const ADDRESS_FACTOR = 10;

/** How long a key is locked out after its `failures`-th failure, `limit` being where lockouts start. */
export function lockoutAfter(failures: number, limit: number, lockoutMs: number): number {
  return Math.min(lockoutMs * 2 ** Math.min(failures - limit, 20), MAX_LOCKOUT_MS);
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Seconds the caller must wait before trying again, or 0 when it may try now. */
  retryAfter(addr: string, user: string): number {
    const now = this.now();
    const wait = Math.max(this.blockedFor(pairKey(addr, user), now), this.blockedFor(addressKey(addr), now));
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  /**
   * Before a password check: seconds to wait (then nothing may be checked), or 0 after
   * reserving the check, which counts as a failure until `settle` says how it went. While
   * the checks in flight could still reach a limit, no further one starts.
   */
  reserve(addr: string, user: string): number {
    const wait = this.retryAfter(addr, user);
    if (wait > 0) return wait;
    const limits: Array<[string, number]> = [
      [pairKey(addr, user), this.options.failures],
      [addressKey(addr), this.options.failures * ADDRESS_FACTOR],
    ];
    if (limits.some(([key, limit]) => this.saturated(key, limit))) return Math.max(1, Math.ceil(this.options.lockoutMs / 1000));
    for (const [key] of limits) this.entry(key, this.now()).pending++;
    return 0;
  }

  /** After a check that `reserve` allowed: releases the reservation and counts the outcome. */
  settle(addr: string, user: string, ok: boolean): void {
    for (const key of [pairKey(addr, user), addressKey(addr)]) {
      const entry = this.entries.get(key);
      if (entry && entry.pending > 0) entry.pending--;
    }
    if (ok) this.success(addr, user);
    else this.failure(addr, user);
  }

  /** After a check that `reserve` allowed and that could not be made (the directory is down): counts nothing. */
  release(addr: string, user: string): void {
    for (const key of [pairKey(addr, user), addressKey(addr)]) {
      const entry = this.entries.get(key);
      if (entry && entry.pending > 0) entry.pending--;
    }
  }

  failure(addr: string, user: string): void {
    this.count(pairKey(addr, user), this.options.failures);
    this.count(addressKey(addr), this.options.failures * ADDRESS_FACTOR);
  }

  success(addr: string, user: string): void {
    const entry = this.entries.get(pairKey(addr, user));
    if (entry && entry.pending > 0) forget(entry);
    else this.entries.delete(pairKey(addr, user));
  }

  private blockedFor(key: string, now: number): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    if (this.expired(entry, now)) {
      if (entry.pending === 0) this.entries.delete(key);
      return 0;
    }
    return Math.max(0, entry.blockedUntil - now);
  }

  /**
   * Whether the checks in flight could reach the limit: below it, as many as failures remain;
   * once a lockout has ended, one at a time (each failure then starts a longer lockout).
   */
  private saturated(key: string, limit: number): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    const count = this.expired(entry, this.now()) ? 0 : entry.count;
    return entry.pending >= Math.max(1, limit - count);
  }

  private expired(entry: Entry, now: number): boolean {
    return now - entry.last > this.options.windowMs && now >= entry.blockedUntil;
  }

  /** The live entry for `key`: failures outside the window forgotten, reservations kept. */
  private entry(key: string, now: number): Entry {
    let entry = this.entries.get(key);
    if (entry && this.expired(entry, now)) forget(entry);
    if (!entry) {
      this.makeRoom();
      entry = { count: 0, pending: 0, last: now, blockedUntil: 0 };
    }
    // re-insert so Map order is least recently used first
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  private count(key: string, limit: number): void {
    const now = this.now();
    const entry = this.entry(key, now);
    entry.count++;
    entry.last = now;
    if (entry.count >= limit) {
      entry.blockedUntil = now + lockoutAfter(entry.count, limit, this.options.lockoutMs);
    }
  }

  /** Map order is least recently used first, so the front holds the stalest entries. */
  private makeRoom(): void {
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function forget(entry: Entry): void {
  entry.count = 0;
  entry.blockedUntil = 0;
}

export function pairKey(addr: string, user: string): string {
  return `u\0${addr}\0${user}`;
}

export function addressKey(addr: string): string {
  return `a\0${addr}`;
}
