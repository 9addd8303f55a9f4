/**
 * Reads an event back from the queue's database. The queue wrote it (JSON.stringify), but a
 * row is still data from disk: a damaged one must not reach a receiver as a malformed event.
 */
import type { EventAction, RegistryEvent } from "../../src/hooks/types.ts";

const ACTIONS: readonly EventAction[] = ["push", "pull", "delete", "mount", "expiring"];

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasStrings(value: Fields, names: readonly string[]): boolean {
  return names.every((name) => typeof value[name] === "string");
}

function isAction(value: unknown): value is EventAction {
  return ACTIONS.some((action) => action === value);
}

/** The event stored in `body`, or null when it is not one (then the delivery cannot be sent). */
export function readStoredEvent(body: string): RegistryEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isObject(value) || !hasStrings(value, ["id", "timestamp"]) || !isAction(value.action)) return null;
  const { target, request, actor, source } = value;
  if (!isObject(target) || !hasStrings(target, ["mediaType", "digest", "repository", "url"])) return null;
  if (typeof target.size !== "number" || typeof target.length !== "number") return null;
  if (!isObject(request) || !hasStrings(request, ["id", "addr", "host", "method", "useragent"])) return null;
  if (!isObject(actor) || typeof actor.name !== "string") return null;
  if (!isObject(source) || !hasStrings(source, ["addr", "instanceID"])) return null;
  const event: RegistryEvent = {
    id: String(value.id),
    timestamp: String(value.timestamp),
    action: value.action,
    target: {
      mediaType: String(target.mediaType),
      digest: String(target.digest),
      size: target.size,
      length: target.length,
      repository: String(target.repository),
      url: String(target.url),
    },
    request: {
      id: String(request.id),
      addr: String(request.addr),
      host: String(request.host),
      method: String(request.method),
      useragent: String(request.useragent),
    },
    actor: { name: actor.name },
    source: { addr: String(source.addr), instanceID: String(source.instanceID) },
  };
  if (typeof target.tag === "string") event.target.tag = target.tag;
  if (typeof target.fromRepository === "string") event.target.fromRepository = target.fromRepository;
  return event;
}
