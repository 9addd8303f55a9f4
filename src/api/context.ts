/** What every v2 handler receives. */
import type { RequestInfo } from "../hooks/types.ts";
import type { PullThroughCache } from "../proxy/proxy.ts";
import type { Registry } from "../registry/registry.ts";

export interface ApiOptions {
  /** external base URL (no trailing slash), or "" to answer with paths only */
  publicUrl: string;
  maxManifestBytes: number;
  /** the pull-through cache, when [[proxy]] is configured */
  proxy?: PullThroughCache;
}

export interface HandlerContext {
  request: Request;
  url: URL;
  registry: Registry;
  options: ApiOptions;
  /** who asked, for hooks and events */
  info: RequestInfo;
}

/** An absolute URL for `path` when a public URL is configured, else the path itself. */
export function linkTo(options: ApiOptions, path: string): string {
  return `${options.publicUrl}${path}`;
}
