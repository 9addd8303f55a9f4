/**
 * Pull counts and times, gathered in memory and written in one transaction every few seconds:
 * a pull never waits for a write, and a crash loses at most the last interval's counts.
 */
import type { MetadataDatabase } from "./database.ts";

const FLUSH_INTERVAL_MS = 5_000;

interface Pulls {
  repository: string;
  digest: string;
  count: number;
  last: number;
}

export class PullRecorder {
  private pending = new Map<string, Pulls>();
  private readonly timer: Timer;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly database: MetadataDatabase) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  record(repository: string, digest: string, now = Date.now()): void {
    const key = `${repository}@${digest}`;
    const known = this.pending.get(key);
    if (known) {
      known.count++;
      known.last = now;
    } else {
      this.pending.set(key, { repository, digest, count: 1, last: now });
    }
  }

  /** Writes what was gathered; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write()).catch(() => undefined); // counts are best effort
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    await this.database.write(async (tx) => {
      for (const pull of batch) {
        await tx`UPDATE manifests SET pull_count = pull_count + ${pull.count},
                 last_pulled_at = CASE WHEN last_pulled_at IS NULL OR last_pulled_at < ${pull.last} THEN ${pull.last} ELSE last_pulled_at END
                 WHERE repository = ${pull.repository} AND digest = ${pull.digest}`;
      }
    }, { durable: false }); // counts may lose their last seconds anyway: no flush of the disk for them
  }
}
