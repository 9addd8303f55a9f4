/** Before-hooks and events as the registry uses them: ask (may veto), announce (after the change). */
import type { HookBus } from "../hooks/bus.ts";
import { buildEvent, type EventSource, type EventTarget } from "../hooks/events.ts";
import type { BeforeHookContext, BeforeHookName, EventAction, RequestInfo } from "../hooks/types.ts";

export class RegistryEvents {
  constructor(
    private readonly hooks: HookBus,
    private readonly source: EventSource,
  ) {}

  /** True when some plugin asks to see `hook` (lets the caller skip building its context). */
  wants(hook: BeforeHookName): boolean {
    return this.hooks.wants(hook);
  }

  /** True when some plugin or webhook listens to `action` (lets the caller skip building its target). */
  hears(action: EventAction): boolean {
    return this.hooks.listens(action);
  }

  async ask(context: BeforeHookContext): Promise<void> {
    if (this.hooks.wants(context.hook)) await this.hooks.before(context);
  }

  /**
   * Returns once durable listeners (the webhook queue) have recorded the event. With no
   * listener for `action`, no event is built (its id, time and the instance's address cost
   * more than the pull itself).
   */
  announce(action: EventAction, target: EventTarget, request: RequestInfo): Promise<void> {
    if (!this.hooks.listens(action)) return Promise.resolve();
    return this.hooks.emit(buildEvent(this.source, action, target, request));
  }
}
