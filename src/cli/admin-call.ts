/**
 * One admin API request for a CLI command (`berth retention ...`, `berth tag restore`,
 * `berth verify`): asked of the running server on its admin socket when one holds the
 * storage root, else answered in this process by a registry composed for the call (plugins
 * included, the root locked meanwhile). Either way the command sees the same JSON answer, so
 * a plugin's API route is also its command.
 */
import { composeRegistry } from "../compose.ts";
import { loadConfiguration } from "../config/load.ts";
import { createLogger } from "../log.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";
import { firstError, parseJson, ServerClient, ServerRefused } from "./server-client.ts";

export type AdminMethod = "GET" | "POST" | "DELETE";

/**
 * @returns the JSON body of a 2xx answer (null when it has none)
 * @throws ServerRefused for any other answer (status, code, message)
 */
export async function adminCall(configFile: string | undefined, method: AdminMethod, path: string, body?: unknown): Promise<unknown> {
  const loaded = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const { resolved } = loaded;
  if (resolved.storage.driver !== "inmemory") {
    try {
      lockStorageRoot(resolved.storage.root);
    } catch (error) {
      if (!(error instanceof RootLockedError)) throw error;
      const server = new ServerClient(resolved.storage.root, error.pid);
      server.announce();
      return server.request(method, path, body);
    }
  }
  const log = createLogger({ ...resolved.log, level: "warn" });
  const composed = await composeRegistry({ loaded, log, instanceAddr: () => "berth-cli" });
  try {
    await composed.indexBuilt;
    const { adminApp } = await composed.buildApp(loaded, false);
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    const response = await adminApp.fetch(new Request(`http://berth${path}`, init));
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const first = firstError(parsed);
      throw new ServerRefused(response.status, first?.code ?? "", first?.message ?? text.slice(0, 300));
    }
    return text === "" ? null : (parsed ?? null);
  } finally {
    await composed.close();
  }
}
