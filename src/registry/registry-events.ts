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

  async ask(context: BeforeHookContext): Promise<void> {
    if (this.hooks.wants(context.hook)) await this.hooks.before(context);
  }

  /** Returns once durable listeners (the webhook queue) have recorded the event. */
  announce(action: EventAction, target: EventTarget, request: RequestInfo): Promise<void> {
    return this.hooks.emit(buildEvent(this.source, action, target, request));
  }
}
