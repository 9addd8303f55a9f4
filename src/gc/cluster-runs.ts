/**
 * Garbage collection among replicas: one run at a time across all of them (the "gc" lease,
 * src/cluster/leases.ts), on top of the collector's one-at-a-time in this process. A backup's
 * hold takes the lease too, so no replica deletes a blob the backup lists.
 */
import type { Cluster } from "../cluster/cluster.ts";
import { type GarbageCollector, type GcOptions, type GcReport, GcRunningElsewhere } from "./collector.ts";

/** How many times (a second apart) a hold waits for another replica's run to end. */
const HOLD_ATTEMPTS = 600;
const LEASE = "gc";

export class ClusterGc {
  constructor(
    private readonly collector: GarbageCollector,
    /** null or not shared: one process, the collector alone decides */
    private readonly cluster: Cluster | null,
  ) {}

  /** One run now; @throws GcRunningElsewhere when another replica holds the lease */
  async run(options: GcOptions): Promise<GcReport> {
    if (!this.cluster?.shared) return this.collector.run(options);
    const outcome = await this.cluster.exclusive(LEASE, () => this.collector.run(options));
    if (!outcome.ran) throw new GcRunningElsewhere(outcome.holder);
    return outcome.value;
  }

  /** Keeps GC from running, here and on every replica, until the returned release is called. */
  async hold(): Promise<() => void> {
    const release = await this.collector.hold();
    const cluster = this.cluster;
    if (!cluster?.shared) return release;
    let releaseLease!: () => void;
    const released = new Promise<void>((resolve) => (releaseLease = resolve));
    const held = new Promise<void>((resolve, reject) => {
      const attempt = async (tries: number): Promise<void> => {
        const outcome = await cluster.exclusive(LEASE, () => {
          resolve();
          return released;
        });
        if (outcome.ran) return;
        if (tries >= HOLD_ATTEMPTS) throw new GcRunningElsewhere(outcome.holder);
        await Bun.sleep(1_000);
        return attempt(tries + 1);
      };
      attempt(1).catch(reject);
    });
    try {
      await held;
    } catch (error) {
      release();
      throw error;
    }
    return () => {
      releaseLease();
      release();
    };
  }
}
