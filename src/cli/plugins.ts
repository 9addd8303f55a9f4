/**
 * The composition root for plugins: which built-in plugins the configuration turns on, and
 * the operator's plugin files. The registry core never imports a plugin; only this file does.
 */
import { dirname } from "node:path";
import { ConfigError } from "../config/errors.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import { importPlugin } from "../plugins-host/load.ts";
import type { RegistryPlugin } from "../hooks/types.ts";
import { createRetentionPlugin, RetentionConfigError, retentionWanted, validateRetentionConfig } from "../../plugins/retention/index.ts";
import { createWebhookPlugin, validateWebhookConfig, WebhookConfigError } from "../../plugins/webhook/index.ts";
import { createSigningPlugin, loadSigningPolicies, SigningConfigError } from "../../plugins/signing/index.ts";
import { createReplicationPlugin, ReplicationConfigError, validateReplicationConfig } from "../../plugins/replication/index.ts";

export interface ConfiguredPlugin {
  plugin: RegistryPlugin;
  options: Record<string, unknown>;
}

type PluginConfig = Pick<ResolvedConfig, "webhook" | "signing" | "plugins" | "retention" | "immutable" | "quota" | "replication">;

/** Checks built-in plugin sections and imports the operator's plugin files. @throws ConfigError naming the key */
export async function checkPluginConfig(config: PluginConfig): Promise<void> {
  await configuredPlugins(config);
}

export async function configuredPlugins(config: PluginConfig): Promise<ConfiguredPlugin[]> {
  const plugins: ConfiguredPlugin[] = [];
  const webhook = builtIn(() => validateWebhookConfig(config.webhook));
  if (webhook.endpoints.length > 0) plugins.push({ plugin: createWebhookPlugin(webhook), options: config.webhook });
  const retentionOptions = retentionOptionsOf(config);
  const retention = builtIn(() => validateRetentionConfig(retentionOptions));
  if (retentionWanted(retention)) plugins.push({ plugin: createRetentionPlugin(retention), options: retentionOptions });
  const signing = builtIn(() => loadSigningPolicies(config.signing));
  if (signing.length > 0) plugins.push({ plugin: createSigningPlugin(signing), options: config.signing });
  const replication = builtIn(() => validateReplicationConfig(config.replication));
  if (replication.length > 0) plugins.push({ plugin: createReplicationPlugin(replication), options: { replication: config.replication } });
  for (const { path, options } of config.plugins) {
    // the loader made the path absolute, against the file that named it
    plugins.push({ plugin: await importPlugin(path, dirname(path), options), options });
  }
  return plugins;
}

/** The retention plugin's options: its three sections of registry.toml. */
export function retentionOptionsOf(config: Pick<ResolvedConfig, "retention" | "immutable" | "quota">): Record<string, unknown> {
  return { retention: config.retention, immutable: config.immutable, quota: config.quota };
}

/** A built-in plugin's own error about its options is the operator's configuration error. */
function builtIn<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof WebhookConfigError || error instanceof RetentionConfigError || error instanceof SigningConfigError || error instanceof ReplicationConfigError) throw new ConfigError(error.message);
    throw error;
  }
}
