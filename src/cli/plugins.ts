/**
 * The composition root for plugins: which built-in plugins the configuration turns on, and
 * the operator's plugin files. The registry core never imports a plugin; only this file does.
 */
import { dirname } from "node:path";
import type { Config } from "../config/schema.ts";
import { importPlugin } from "../plugins-host/load.ts";
import type { RegistryPlugin } from "../hooks/types.ts";
import { createWebhookPlugin, validateWebhookConfig } from "../../plugins/webhook/index.ts";

export interface ConfiguredPlugin {
  plugin: RegistryPlugin;
  options: Record<string, unknown>;
}

/** Validates built-in plugin sections; throws ConfigError naming the key. */
export function checkPluginConfig(config: Config): void {
  validateWebhookConfig(config.webhook);
}

export async function configuredPlugins(config: Config, configFile: string | null): Promise<ConfiguredPlugin[]> {
  const plugins: ConfiguredPlugin[] = [];
  const webhook = validateWebhookConfig(config.webhook);
  if (webhook.endpoints.length > 0) plugins.push({ plugin: createWebhookPlugin(webhook), options: config.webhook });
  const baseDir = configFile ? dirname(configFile) : process.cwd();
  for (const entry of config.plugins) {
    const { path, ...options } = entry;
    plugins.push({ plugin: await importPlugin(path, baseDir, options), options });
  }
  return plugins;
}
