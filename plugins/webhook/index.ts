/** Webhook notifications: durable queue -> retry with backoff -> signed HTTP POST. */
import type { RegistryPlugin } from "../../src/hooks/types.ts";
import type { WebhookConfig } from "./config.ts";

export { validateWebhookConfig } from "./config.ts";

export function createWebhookPlugin(config: WebhookConfig): RegistryPlugin {
  // TODO(#4): queue, sender, formats, admin API
  return { name: "webhook", setup: () => { void config; } };
}
