/** registry:2's notifications.endpoints as Berth webhook endpoints ([[webhook.endpoints]]). */
import { ConfigError } from "../errors.ts";
import { asBoolean, asDuration, asHeaderValues, asString, asStrings, asTree, wrongValue } from "./values.ts";

const ACTIONS = ["push", "pull", "delete", "mount"];

/** @throws ConfigError naming the registry:2 key */
export function webhookEndpoints(value: unknown, note: (message: string) => void): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw wrongValue("notifications.endpoints", "a list of endpoints", value);
  const endpoints: Record<string, unknown>[] = [];
  for (const [index, raw] of value.entries()) {
    const at = `notifications.endpoints[${index}]`;
    const source = asTree(at, raw);
    const endpoint: Record<string, unknown> = {};
    const ignoredTypes: string[] = [];
    let disabled = false;
    for (const [name, item] of Object.entries(source)) {
      const key = `${at}.${name}`;
      switch (name) {
        case "name":
          // Berth's endpoint names are also file and metric names: keep them plain
          endpoint.name = asString(key, item).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
          break;
        case "url":
          endpoint.url = asString(key, item);
          break;
        case "disabled":
          disabled = asBoolean(key, item);
          break;
        case "headers":
          endpoint.headers = Object.fromEntries(Object.entries(asHeaderValues(key, item)).map(([header, values]) => [header, values.join(", ")]));
          break;
        case "timeout":
          endpoint.timeout = asDuration(key, item);
          break;
        case "backoff":
          endpoint.retry = { backoff: asDuration(key, item) };
          break;
        case "threshold":
          note(`${key} has no effect: Berth retries every failed delivery with backoff`);
          break;
        case "ignoredmediatypes":
          ignoredTypes.push(...asStrings(key, item));
          break;
        case "ignore": {
          const ignore = asTree(key, item);
          for (const [part, list] of Object.entries(ignore)) {
            if (part === "mediatypes") ignoredTypes.push(...asStrings(`${key}.mediatypes`, list));
            else if (part === "actions") {
              const skip = new Set(asStrings(`${key}.actions`, list));
              endpoint.actions = ACTIONS.filter((action) => !skip.has(action));
            } else throw new ConfigError(`Unknown registry:2 key "${key}.${part}"`);
          }
          break;
        }
        default:
          throw new ConfigError(`Unknown registry:2 key "${key}"`);
      }
    }
    if (ignoredTypes.length > 0) endpoint.ignored_media_types = ignoredTypes;
    if (typeof endpoint.name !== "string" || endpoint.name === "") endpoint.name = `endpoint-${index + 1}`;
    if (disabled) {
      note(`${at} (${String(endpoint.name)}) is disabled and left out`);
      continue;
    }
    endpoints.push(endpoint);
  }
  return endpoints;
}
