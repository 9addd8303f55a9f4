/** `berth config check`: print the effective configuration, or the error naming the key. */
import { configPath, loadConfig } from "../config/load.ts";
import { checkPluginConfig } from "./plugins.ts";

export function configCheck(configFile: string | undefined): void {
  const options = configFile === undefined ? {} : { path: configFile };
  const config = loadConfig(options);
  checkPluginConfig(config);
  const source = configPath(options) ?? "built-in defaults";
  process.stdout.write(`# effective configuration (from ${source} and BERTH_* variables)\n`);
  process.stdout.write(JSON.stringify(config, null, 2) + "\n");
}
