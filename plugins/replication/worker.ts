/**
 * One rule's worker: takes the oldest due job, runs it against the target, removes it when
 * done or retries it later with doubling backoff (1 s up to the rule's max_backoff). Jobs wait
 * in the queue while the target is down; nothing is given up.
 *
 * With replicas, every replica runs a worker per rule on the one shared queue; a worker runs
 * only the job it claimed, renewing the claim while the copy runs, so a job is worked on by one
 * replica at a time and taken over `JOB_LEASE_MS` after its replica dies.
 */
import type { Logger, RegistryReader } from "../../src/hooks/types.ts";
import type { Rule } from "./config.ts";
import { Copier } from "./copy.ts";
import type { Job, ReplicationQueue } from "./queue.ts";
import { Target } from "./target.ts";

const FIRST_BACKOFF_MS = 1000;
/** Longest sleep with nothing due: a job queued by another path is seen at least this often. */
const IDLE_MS = 5000;
/** A job's claim, renewed every third of it while the job runs. */
export const JOB_LEASE_MS = 60_000;

export class RuleWorker {
  private readonly copier: Copier;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private running: Promise<void> | null = null;

  constructor(
    readonly rule: Rule,
    private readonly queue: ReplicationQueue,
    reader: RegistryReader,
    private readonly log: Logger,
  ) {
    this.copier = new Copier(reader, new Target(rule));
  }

  start(): void {
    this.running ??= this.loop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const job = await this.queue.due(this.rule.name, Date.now(), JOB_LEASE_MS).catch(() => null);
      if (job) {
        await this.run(job);
        continue;
      }
      const next = await this.queue.nextDueAt(this.rule.name).catch(() => null);
      const wait = next === null ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - Date.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async run(job: Job): Promise<void> {
    try {
      await this.queue.whileClaimed(job, JOB_LEASE_MS, () => this.perform(job));
      await this.queue.done(job, Date.now());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const delay = Math.min(this.rule.maxBackoffMs, FIRST_BACKOFF_MS * 2 ** Math.min(job.attempts, 20));
      const now = Date.now();
      await this.queue.failed(job, message, now + delay, now).catch(() => undefined);
      this.log("warn", "replication: copy failed, will retry", { rule: this.rule.name, repository: job.repository, reference: job.reference, attempts: job.attempts + 1, error: message });
    }
  }

  private async perform(job: Job): Promise<void> {
    switch (job.kind) {
      case "tag":
      case "digest":
        await this.copier.copy(job.repository, job.reference);
        return;
      case "delete-tag":
        await this.copier.deleteTag(job.repository, job.reference, job.digest);
        return;
      case "delete-digest":
        await this.copier.deleteManifest(job.repository, job.reference);
        return;
    }
  }
}
