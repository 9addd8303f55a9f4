/**
 * Named leases in the shared database: one replica at a time runs garbage collection or a
 * retention run. A lease lasts `LEASE_MS` from its last renewal; its holder renews it while the
 * work runs, and a replica that dies stops renewing, so another takes it over when it runs out.
 */
import type { SQL } from "bun";
import { rowsOf, str } from "../metadata/rows.ts";

export const LEASE_MS = 30_000;
const RENEW_EVERY_MS = 10_000;

export type LeaseOutcome<T> = { ran: true; value: T } | { ran: false; holder: string };

export class Leases {
  constructor(
    private readonly sql: SQL,
    private readonly holder: string,
    private readonly warn: (message: string, fields: Record<string, string>) => void,
  ) {}

  /** Runs `work` holding `name`, or answers who holds it. */
  async run<T>(name: string, work: () => Promise<T>): Promise<LeaseOutcome<T>> {
    const current = await this.take(name);
    if (current !== this.holder) return { ran: false, holder: current };
    const renewal = setInterval(() => void this.renew(name), RENEW_EVERY_MS);
    try {
      return { ran: true, value: await work() };
    } finally {
      clearInterval(renewal);
      await this.sql`DELETE FROM cluster_leases WHERE name = ${name} AND holder = ${this.holder}`.catch(() => undefined);
    }
  }

  /** Takes the lease when it is free, ran out, or is ours. @returns its holder afterwards */
  private async take(name: string): Promise<string> {
    const rows = rowsOf(await this.sql`
      INSERT INTO cluster_leases (name, holder, expires_at)
      VALUES (${name}, ${this.holder}, (extract(epoch from clock_timestamp()) * 1000)::bigint + ${LEASE_MS})
      ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
      WHERE cluster_leases.expires_at < (extract(epoch from clock_timestamp()) * 1000)::bigint OR cluster_leases.holder = EXCLUDED.holder
      RETURNING holder`);
    if (rows[0]) return str(rows[0], "holder");
    const [held] = rowsOf(await this.sql`SELECT holder FROM cluster_leases WHERE name = ${name}`);
    return held ? str(held, "holder") : "";
  }

  private async renew(name: string): Promise<void> {
    try {
      const rows = rowsOf(await this.sql`
        UPDATE cluster_leases SET expires_at = (extract(epoch from clock_timestamp()) * 1000)::bigint + ${LEASE_MS}
        WHERE name = ${name} AND holder = ${this.holder} RETURNING holder`);
      // the work goes on (it cannot be stopped half-way safely); the other holder's is checked the same way
      if (rows.length === 0) this.warn("a lease ran out while its work was still running", { lease: name });
    } catch (error) {
      this.warn("could not renew a lease", { lease: name, error: error instanceof Error ? error.message : String(error) });
    }
  }
}
