/**
 * Failed-login throttling. Failures are counted per (client address, user name): after
 * `failures` of them, that pair is locked out for `lockoutMs`, doubling with each further
 * failure (at most 15 minutes). Other users, and the same user from another address, are not
 * slowed down. A looser limit per address (ten times as many failures, over any names) stops
 * one client from trying many names. A success clears the pair; quiet for `windowMs` clears
 * everything. Memory is bounded: the oldest entries go first.
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
  last: number;
  blockedUntil: number;
}

const MAX_LOCKOUT_MS = 15 * 60_000;
const ADDRESS_FACTOR = 10;

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

  failure(addr: string, user: string): void {
    this.count(pairKey(addr, user), this.options.failures);
    this.count(addressKey(addr), this.options.failures * ADDRESS_FACTOR);
  }

  success(addr: string, user: string): void {
    this.entries.delete(pairKey(addr, user));
  }

  private blockedFor(key: string, now: number): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    if (now - entry.last > this.options.windowMs && now >= entry.blockedUntil) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, entry.blockedUntil - now);
  }

  private count(key: string, limit: number): void {
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry && now - entry.last > this.options.windowMs && now >= entry.blockedUntil) entry = undefined;
    if (!entry) {
      this.makeRoom();
      entry = { count: 0, last: now, blockedUntil: 0 };
    }
    entry.count++;
    entry.last = now;
    if (entry.count >= limit) {
      const lockout = Math.min(this.options.lockoutMs * 2 ** Math.min(entry.count - limit, 20), MAX_LOCKOUT_MS);
      entry.blockedUntil = now + lockout;
    }
    // re-insert so Map order is least recently failed first
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /** Map order is least recently failed first, so the front holds the stalest entries. */
  private makeRoom(): void {
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function pairKey(addr: string, user: string): string {
  return `u\0${addr}\0${user}`;
}

function addressKey(addr: string): string {
  return `a\0${addr}`;
}
