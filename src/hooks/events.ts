/** Builds Distribution-shaped events from what the registry just did. */
import type { EventAction, RegistryEvent, RequestInfo } from "./types.ts";

export interface EventSource {
  /** the address this instance listens on */
  addr: string;
  instanceID: string;
  /** external base URL, "" to use the request's Host */
  publicUrl: string;
}

export interface EventTarget {
  mediaType: string;
  digest: string;
  size: number;
  repository: string;
  /** path of the resource, e.g. /v2/<name>/manifests/<digest> */
  path: string;
  tag?: string;
  fromRepository?: string;
}

export function buildEvent(source: EventSource, action: EventAction, target: EventTarget, request: RequestInfo): RegistryEvent {
  const base = source.publicUrl || `http://${request.host}`;
  const { path, ...rest } = target;
  const { actor, ...requestFields } = request;
  return {
    id: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    action,
    target: { ...rest, length: target.size, url: `${base}${path}` },
    request: requestFields,
    actor: { name: actor },
    source: { addr: source.addr, instanceID: source.instanceID },
  };
}
