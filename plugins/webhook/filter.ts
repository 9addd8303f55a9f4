/** Which events an endpoint wants: its actions, repository globs and ignored media types. */
import type { RegistryEvent } from "../../src/hooks/types.ts";
import { globToRegExp } from "../../src/oci/glob.ts";
import type { EndpointConfig } from "./config.ts";

export type EventFilter = (event: RegistryEvent) => boolean;

export function createFilter(config: Pick<EndpointConfig, "actions" | "repositories" | "ignored_media_types">): EventFilter {
  const actions = new Set<string>(config.actions);
  const repositories = config.repositories.map(globToRegExp);
  const ignored = new Set(config.ignored_media_types);
  return (event) =>
    actions.has(event.action) &&
    !ignored.has(event.target.mediaType) &&
    repositories.some((pattern) => pattern.test(event.target.repository));
}
