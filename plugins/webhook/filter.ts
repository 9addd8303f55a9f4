/** Which events an endpoint wants: its actions, repository globs and ignored media types. */
import type { RegistryEvent } from "../../src/hooks/types.ts";
import type { EndpointConfig } from "./config.ts";

export type EventFilter = (event: RegistryEvent) => boolean;

/**
 * Compiles a repository glob: `*` and `?` stay within one path component, `**` crosses them.
 * @example globToRegExp("team/*").test("team/app") // true; "team/a/b" is false
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === "*" && glob[i + 1] === "*") {
      // "team/**" also matches "team" itself, as most glob dialects do
      if (glob[i + 2] === undefined && source.endsWith("/")) source = `${source.slice(0, -1)}(?:/.*)?`;
      else source += ".*";
      i++;
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

export function createFilter(config: Pick<EndpointConfig, "actions" | "repositories" | "ignored_media_types">): EventFilter {
  const actions = new Set<string>(config.actions);
  const repositories = config.repositories.map(globToRegExp);
  const ignored = new Set(config.ignored_media_types);
  return (event) =>
    actions.has(event.action) &&
    !ignored.has(event.target.mediaType) &&
    repositories.some((pattern) => pattern.test(event.target.repository));
}
