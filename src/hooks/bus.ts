/**
 * The hook bus: before-hooks are awaited in registration order and may veto, each within a
 * time limit and with a failure mode; events are handed to listeners after the response
 * path has moved on, so a slow or broken listener never delays or fails a request.
 */
import { RegistryError } from "../oci/errors.ts";
import type { Logger } from "../log.ts";
import {
  type BeforeHook,
  type BeforeHookContext,
  type BeforeHookName,
  type BeforeHookOptions,
  type EventAction,
  type EventListener,
  HookDenial,
  type ListenerOptions,
  type RegistryEvent,
} from "./types.ts";

export interface HookDefaults {
  timeoutMs: number;
  onFailure: "deny" | "allow";
}

interface RegisteredHook {
  plugin: string;
  fn: BeforeHook;
  timeoutMs: number;
  onFailure: "deny" | "allow";
}

const TIMED_OUT = Symbol("timed out");

export class HookBus {
  private readonly hooks = new Map<BeforeHookName, RegisteredHook[]>();
  private readonly listeners: Array<{ plugin: string; action: EventAction | "*"; fn: EventListener; durable: boolean }> = [];

  constructor(
    private readonly defaults: HookDefaults,
    private readonly log: Logger,
  ) {}

  addBefore(plugin: string, hook: BeforeHookName, fn: BeforeHook, options: BeforeHookOptions = {}): void {
    const list = this.hooks.get(hook) ?? [];
    list.push({
      plugin,
      fn,
      timeoutMs: options.timeoutMs ?? this.defaults.timeoutMs,
      onFailure: options.onFailure ?? this.defaults.onFailure,
    });
    this.hooks.set(hook, list);
  }

  addListener(plugin: string, action: EventAction | "*", fn: EventListener, options: ListenerOptions = {}): void {
    this.listeners.push({ plugin, action, fn, durable: options.durable === true });
  }

  /** True when some plugin asks to see `hook` (lets the core skip building the context). */
  wants(hook: BeforeHookName): boolean {
    return (this.hooks.get(hook)?.length ?? 0) > 0;
  }

  /** True when some listener takes `action` events (lets the core skip building the event). */
  listens(action: EventAction): boolean {
    return this.listeners.some((listener) => listener.action === "*" || listener.action === action);
  }

  /** @throws RegistryError DENIED when a hook denies, or fails with on_failure = "deny" */
  async before(context: BeforeHookContext): Promise<void> {
    for (const hook of this.hooks.get(context.hook) ?? []) {
      let timer: Timer | undefined;
      try {
        const outcome = await Promise.race([
          Promise.resolve().then(() => hook.fn(context)),
          new Promise<typeof TIMED_OUT>((resolve) => {
            timer = setTimeout(() => resolve(TIMED_OUT), hook.timeoutMs);
          }),
        ]);
        if (outcome === TIMED_OUT) this.failed(hook, context, `timed out after ${hook.timeoutMs} ms`);
      } catch (error) {
        // by name too: a plugin file may bring its own copy of the class
        if (error instanceof HookDenial || (error instanceof Error && error.name === "HookDenial")) {
          throw new RegistryError("DENIED", { message: error.message, detail: { plugin: hook.plugin, hook: context.hook } });
        }
        if (error instanceof RegistryError) throw error;
        this.failed(hook, context, error instanceof Error ? error.message : String(error));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /**
   * Queues the event for every listener of its action, and waits for the durable ones (each
   * within the hook time limit) so the caller answers only once they have recorded it.
   * Never throws: the change is already made.
   */
  async emit(event: RegistryEvent): Promise<void> {
    const durable: Promise<void>[] = [];
    for (const listener of this.listeners) {
      if (listener.action !== "*" && listener.action !== event.action) continue;
      if (listener.durable) {
        durable.push(this.runDurable(listener.plugin, listener.fn, event));
        continue;
      }
      setImmediate(() => {
        Promise.resolve()
          .then(() => listener.fn(event))
          .catch((error: unknown) =>
            this.log("error", "event listener failed", { plugin: listener.plugin, action: event.action, error: String(error) }),
          );
      });
    }
    if (durable.length > 0) await Promise.all(durable);
  }

  /**
   * A durable listener that fails or times out on a change (push, delete, mount) fails the
   * request with 500: the change is stored, and the client's retry (uploads and PUTs are
   * idempotent) records the event again. A pull event that could not be recorded is only logged.
   */
  private async runDurable(plugin: string, fn: EventListener, event: RegistryEvent): Promise<void> {
    let timer: Timer | undefined;
    let problem: string | null = null;
    try {
      const outcome = await Promise.race([
        Promise.resolve().then(() => fn(event)),
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), this.defaults.timeoutMs);
        }),
      ]);
      if (outcome === TIMED_OUT) problem = `timed out after ${this.defaults.timeoutMs} ms`;
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
    }
    if (problem === null) return;
    this.log("error", "durable event listener failed", { plugin, action: event.action, error: problem });
    if (event.action !== "pull") {
      throw new RegistryError("UNKNOWN", {
        message: `The change is stored but plugin ${plugin} could not record its event; retry the request`,
      });
    }
  }

  private failed(hook: RegisteredHook, context: BeforeHookContext, reason: string): void {
    this.log("warn", "before-hook failed", { plugin: hook.plugin, hook: context.hook, reason, mode: hook.onFailure });
    if (hook.onFailure === "deny") {
      throw new RegistryError("DENIED", {
        message: `Plugin ${hook.plugin} could not check this request (${reason}); denied by its failure mode`,
        detail: { plugin: hook.plugin, hook: context.hook },
      });
    }
  }
}
