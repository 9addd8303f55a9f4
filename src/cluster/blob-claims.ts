/**
 * Garbage collection and pushes on different replicas, over the shared database. In one
 * process, BlobLocks orders them; across replicas, both go through the blob's row:
 *
 * - what is about to rely on a blob (an upload finishing, a mount, a manifest push) first
 *   pushes its GC review back (`pin`; review times are each writer's clock, as everywhere in the
 *   GC queue, and a pin of ten minutes dwarfs any skew), then waits while a collector has claimed it;
 * - the collector claims a blob only in the statement that finds its review still due.
 *
 * PostgreSQL serialises the two on the row: if the pin lands first, the review is no longer
 * due and the claim fails; if the claim lands first, the pin sees it and waits until the blob
 * is gone, and the push then finds it absent (MANIFEST_BLOB_UNKNOWN, or a fresh upload).
 * A claim older than `CLAIM_STALE_MS` belongs to a collector that died and is ignored.
 */
import type { SQL } from "bun";
import { rowsOf, str } from "../metadata/rows.ts";

const CLAIM_STALE_MS = 60_000;
/** a pin keeps the review away at least this long: longer than any push takes from check to record */
const MIN_PIN_MS = 10 * 60_000;
const WAIT_STEP_MS = 50;

export class BlobClaims {
  constructor(
    private readonly sql: SQL,
    private readonly holder: string,
    private readonly delayMs: number,
  ) {}

  /** Before relying on these blobs: pushes their reviews back, then waits out collectors' claims. */
  async pin(digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return;
    const pinMs = Math.max(this.delayMs, MIN_PIN_MS);
    // only a blob in the GC queue can be claimed: the others need no look at the claims (a claimed
    // blob whose row is already gone is gone from the storage too: GC deletes the row last)
    const queued = rowsOf(await this.sql`
      UPDATE blobs SET review_at = ${Date.now() + pinMs}
      WHERE digest IN ${this.sql(digests)} AND review_at IS NOT NULL
      RETURNING digest`).map((row) => str(row, "digest"));
    if (queued.length === 0) return;
    const deadline = Date.now() + CLAIM_STALE_MS + 5_000;
    while (Date.now() < deadline) {
      const claimed = rowsOf(await this.sql`
        SELECT digest FROM cluster_blob_claims
        WHERE digest IN ${this.sql(queued)} AND claimed_at > (extract(epoch from clock_timestamp()) * 1000)::bigint - ${CLAIM_STALE_MS}`);
      if (claimed.length === 0) return;
      await Bun.sleep(WAIT_STEP_MS);
    }
  }

  /**
   * Claims a blob whose review is due by `now` (ms, this process's clock as GC's queue uses it)
   * and that nothing references. @returns false when a pin or a reference came first
   */
  async claim(digest: string, now: number): Promise<boolean> {
    return this.sql.begin(async (tx) => {
      const due = rowsOf(await tx`
        SELECT digest FROM blobs WHERE digest = ${digest} AND review_at IS NOT NULL AND review_at <= ${now}
          AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.child = blobs.digest AND r.kind = 'blob')
          AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = blobs.digest)
        FOR UPDATE`);
      if (due.length === 0) return false;
      const claimed = rowsOf(await tx`
        INSERT INTO cluster_blob_claims (digest, holder, claimed_at)
        VALUES (${digest}, ${this.holder}, (extract(epoch from clock_timestamp()) * 1000)::bigint)
        ON CONFLICT (digest) DO UPDATE SET holder = EXCLUDED.holder, claimed_at = EXCLUDED.claimed_at
        WHERE cluster_blob_claims.claimed_at < EXCLUDED.claimed_at - ${CLAIM_STALE_MS}
        RETURNING holder`);
      return claimed.length > 0 && str(claimed[0] ?? {}, "holder") === this.holder;
    });
  }

  /** The blob is gone (or stays): pushes waiting for it go on. */
  async release(digest: string): Promise<void> {
    await this.sql`DELETE FROM cluster_blob_claims WHERE digest = ${digest} AND holder = ${this.holder}`;
  }
}
