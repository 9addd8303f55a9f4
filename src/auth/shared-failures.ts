/**
 * Failed logins counted by every replica (the shared database's cluster_login_failures): a
 * client locked out on one replica is locked out on all, with the same limits as the local
 * throttle (throttle.ts: per address and user, ten times looser per address, doubling lockouts
 * up to 15 minutes). Each replica still limits the checks in flight itself. Times are the
 * database's clock.
 */
import type { SQL } from "bun";
import { num, rowsOf } from "../metadata/rows.ts";
import { ADDRESS_FACTOR, addressKey as localAddressKey, lockoutAfter, pairKey as localPairKey, type ThrottleOptions } from "./throttle.ts";

// PostgreSQL text cannot hold NUL, which the local keys use as a separator; a newline cannot be
// in an address, so the keys stay unambiguous
const pairKey = (addr: string, user: string) => localPairKey(addr, user).replaceAll("\0", "\n");
const addressKey = (addr: string) => localAddressKey(addr).replaceAll("\0", "\n");

export class SharedFailures {
  constructor(
    private readonly sql: SQL,
    private readonly options: Pick<ThrottleOptions, "failures" | "windowMs" | "lockoutMs">,
  ) {}

  /** Seconds the caller must wait because of failures any replica counted; 0 when none. */
  async retryAfter(addr: string, user: string): Promise<number> {
    const [row] = rowsOf(await this.sql`
      SELECT COALESCE(MAX(blocked_until), 0) - (extract(epoch from clock_timestamp()) * 1000)::bigint AS wait
      FROM cluster_login_failures WHERE key IN (${pairKey(addr, user)}, ${addressKey(addr)})`);
    const wait = row ? num(row, "wait") : 0;
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  /** Counts a check's outcome: a failure against both limits, a success clears the pair. */
  async record(addr: string, user: string, ok: boolean): Promise<void> {
    if (ok) {
      await this.sql`DELETE FROM cluster_login_failures WHERE key = ${pairKey(addr, user)}`;
      return;
    }
    await this.count(pairKey(addr, user), this.options.failures);
    await this.count(addressKey(addr), this.options.failures * ADDRESS_FACTOR);
  }

  private async count(key: string, limit: number): Promise<void> {
    const [row] = rowsOf(await this.sql`
      INSERT INTO cluster_login_failures (key, failures, last_at, blocked_until)
      VALUES (${key}, 1, (extract(epoch from clock_timestamp()) * 1000)::bigint, 0)
      ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN cluster_login_failures.last_at < EXCLUDED.last_at - ${this.options.windowMs}
                         AND cluster_login_failures.blocked_until < EXCLUDED.last_at
                        THEN 1 ELSE cluster_login_failures.failures + 1 END,
        last_at = EXCLUDED.last_at
      RETURNING failures`);
    const failures = row ? num(row, "failures") : 0;
    if (failures < limit) return;
    await this.sql`
      UPDATE cluster_login_failures SET blocked_until = (extract(epoch from clock_timestamp()) * 1000)::bigint + ${lockoutAfter(failures, limit, this.options.lockoutMs)}
      WHERE key = ${key}`;
  }
}
