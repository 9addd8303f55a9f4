/**
 * Payload formats. `distribution` is CNCF Distribution's notification envelope, so receivers
 * written for registry:2 work unchanged; `cloudevents` is one structured-mode CloudEvent 1.0.
 */
import type { RegistryEvent } from "../../src/hooks/types.ts";
import type { EndpointConfig } from "./config.ts";

export type Format = EndpointConfig["format"];

export const DISTRIBUTION_EVENTS_TYPE = "application/vnd.docker.distribution.events.v1+json";
export const CLOUDEVENTS_TYPE = "application/cloudevents+json";

export interface Payload {
  body: string;
  contentType: string;
}

/** The structured-mode CloudEvent (JSON event format) for one registry event. */
export interface CloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  time: string;
  datacontenttype: "application/json";
  subject: string;
  data: RegistryEvent;
}

export function formatPayload(format: Format, event: RegistryEvent): Payload {
  if (format === "cloudevents") return { body: JSON.stringify(toCloudEvent(event)), contentType: CLOUDEVENTS_TYPE };
  return { body: JSON.stringify({ events: [event] }), contentType: DISTRIBUTION_EVENTS_TYPE };
}

/**
 * `source` is the registry's base URL (its public URL, else the Host the client used), so
 * source + id is unique as the spec asks; `subject` names what changed: `repo:tag` when the
 * request named a tag, else `repo@digest`.
 */
export function toCloudEvent(event: RegistryEvent): CloudEvent {
  const { repository, tag, digest } = event.target;
  return {
    specversion: "1.0",
    id: event.id,
    source: sourceOf(event),
    type: `io.berth.registry.${event.action}`,
    time: event.timestamp,
    datacontenttype: "application/json",
    subject: tag === undefined ? `${repository}@${digest}` : `${repository}:${tag}`,
    data: event,
  };
}

function sourceOf(event: RegistryEvent): string {
  try {
    const origin = new URL(event.target.url).origin;
    if (origin !== "null") return origin;
  } catch {
    // fall through: an event without a usable URL still needs a non-empty source
  }
  return `urn:berth:${event.source.instanceID || "registry"}`;
}
