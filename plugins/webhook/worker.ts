/**
 * One worker per endpoint: takes due deliveries from the queue oldest first, keeps at most
 * `concurrency` requests in flight, and retries with exponential backoff and jitter. A slow or
 * dead endpoint only ever occupies its own worker.
 *
 * When the endpoint itself looks unwell (no answer, a timeout, 401, 403, 404, 429, 5xx...) the
 * whole worker pauses for the backoff and then probes with one request, so an outage costs one
 * attempt per backoff period instead of one per queued event, and events keep their order.
 * An answer that is about this one payload (400, 409, 413, 415, 422) only delays that
 * delivery: it is retried on its own schedule while the rest flow.
 *
 * With replicas, each runs a worker per endpoint on the one shared queue: a worker sends only
 * rows it claimed (see queue.ts), so `concurrency`, the pause and the probe are per replica.
 */
import type { Logger } from "../../src/hooks/types.ts";
import type { Endpoint, RetryPolicy } from "./config.ts";
import { formatPayload } from "./formats.ts";
import type { DeliveryQueue, DueDelivery } from "./queue.ts";
import { send, type SendInput, type SendResult } from "./sender.ts";

/** longest idle sleep; wake() cuts it short when an event arrives */
const IDLE_MS = 5_000;
/** how long stop() waits for requests in flight before giving up on them */
const STOP_GRACE_MS = 2_000;
/**
 * A claim lasts the endpoint's timeout plus this: long enough to send and record the outcome,
 * short enough that another replica takes over soon after this one dies mid-send.
 */
export const CLAIM_MARGIN_MS = 30_000;

export type Sender = (endpoint: Endpoint, input: SendInput) => Promise<SendResult>;

/**
 * Delay before retry number `attempt` (1 = after the first failure): `backoff * 2^(attempt-1)`,
 * capped at `max_backoff`, then "equal jitter": half of it fixed, half random, so retries from
 * many events spread out but still grow.
 */
export function retryDelay(policy: Pick<RetryPolicy, "backoffMs" | "maxBackoffMs">, attempt: number, random = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40);
  const capped = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** exponent);
  return Math.round(capped / 2 + random() * (capped / 2));
}

/** True when the policy gives up after this failed attempt. */
export function givesUp(policy: RetryPolicy, attempts: number, queuedAt: number, now: number): boolean {
  if (policy.maxAttempts > 0 && attempts >= policy.maxAttempts) return true;
  return now - queuedAt >= policy.maxAgeMs;
}

/** answers that reject one payload rather than say the endpoint is unwell */
const PAYLOAD_REJECTED = new Set([400, 409, 413, 415, 422]);

function endpointTrouble(result: SendResult): boolean {
  return !result.ok && (result.status === undefined || !PAYLOAD_REJECTED.has(result.status));
}

/** One delivery attempt: "delivered", "failed" (will retry) or "dead" (given up), and its seconds. */
export type DeliveryObserver = (endpoint: string, outcome: "delivered" | "failed" | "dead", seconds: number) => void;

export class EndpointWorker {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private pausedUntil = 0;
  /** after a failure that looked like the endpoint's, probe with one request until one succeeds */
  private probing = false;
  private woken = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    readonly endpoint: Endpoint,
    private readonly queue: DeliveryQueue,
    private readonly log: Logger,
    private readonly sender: Sender = send,
    /** told of each attempt's outcome and duration (the plugin's metrics) */
    private readonly observe: DeliveryObserver = () => {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Something may be due: look now instead of at the end of the current sleep. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops taking work; requests in flight are aborted after a short grace and stay pending. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.loop;
    const settled = Promise.allSettled(this.inflight.values());
    await Promise.race([settled, Bun.sleep(STOP_GRACE_MS)]);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.fill();
      } catch (error) {
        this.log("error", "webhook worker failed; retrying", { endpoint: this.endpoint.name, error: String(error) });
        await this.sleep(1_000);
      }
    }
  }

  /** Starts due deliveries up to the concurrency limit, then sleeps until something may change. */
  private async fill(): Promise<void> {
    this.woken = false; // a wake from here on makes the sleep below return at once
    const now = Date.now();
    if (now < this.pausedUntil) return this.sleep(this.pausedUntil - now);
    const limit = (this.probing ? 1 : this.endpoint.concurrency) - this.inflight.size;
    if (limit <= 0) return this.sleep(IDLE_MS); // a finished request wakes us
    // claimed: no other worker (here or on another replica) sends these until we record or let go
    const rows = await this.queue.due(this.endpoint.name, now, limit, this.endpoint.timeoutMs + CLAIM_MARGIN_MS);
    for (const row of rows) {
      this.inflight.set(
        row.id,
        this.deliver(row)
          .catch((error: unknown) => {
            // the row stays pending and claimed: sent again (by any replica) once the claim runs
            // out, at least once and never lost; not at once, or a queue that cannot record
            // outcomes (a full disk) would resend in a tight loop
            this.pausedUntil = Math.max(this.pausedUntil, Date.now() + this.endpoint.retry.backoffMs);
            this.log("error", "webhook delivery bookkeeping failed", { endpoint: this.endpoint.name, delivery: row.id, error: String(error) });
          })
          .finally(() => {
            this.inflight.delete(row.id);
            this.wake();
          }),
      );
    }
    if (rows.length === limit) return; // there may be more: look again once a slot frees
    const next = await this.queue.nextDueAt(this.endpoint.name);
    return this.sleep(next === null ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - Date.now())));
  }

  private async deliver(row: DueDelivery): Promise<void> {
    const attempt = row.attempts + 1;
    const started = performance.now();
    const result = await this.sender(this.endpoint, {
      payload: formatPayload(this.endpoint.format, row.event),
      eventId: row.event.id,
      deliveryId: row.id,
      attempt,
      signal: this.stopping.signal,
    });
    if (!result.ok && result.aborted) {
      // stopping: stays pending with its attempts; another replica (or this one after a restart) sends it
      await this.queue.release(row.id);
      return;
    }
    const now = Date.now();
    const seconds = (performance.now() - started) / 1000;
    if (result.ok) {
      this.observe(this.endpoint.name, "delivered", seconds);
      this.probing = false;
      await this.queue.markDelivered(row.id, { now, statusCode: result.status, error: null }, row.queuedAt);
      return;
    }
    // Retry-After may ask for longer than our backoff, never for less (Retry-After: 0 would spin)
    const delay = Math.min(Math.max(result.retryAfterMs ?? 0, retryDelay(this.endpoint.retry, attempt)), this.endpoint.retry.maxBackoffMs);
    this.probing = endpointTrouble(result);
    if (this.probing) this.pausedUntil = Math.max(this.pausedUntil, now + delay);
    const dead = givesUp(this.endpoint.retry, attempt, row.queuedAt, now);
    this.observe(this.endpoint.name, dead ? "dead" : "failed", seconds);
    await this.queue.markFailed(row.id, { now, statusCode: result.status ?? null, error: result.error }, dead ? null : now + delay, row.queuedAt);
    this.log(dead ? "error" : "warn", dead ? "webhook delivery dead-lettered" : "webhook delivery failed; will retry", {
      endpoint: this.endpoint.name,
      delivery: row.id,
      attempt,
      error: result.error,
      ...(dead ? {} : { retryInMs: delay }),
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
