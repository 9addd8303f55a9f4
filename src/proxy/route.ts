/** Which upstream a repository name is pulled from: the longest matching prefix, "" last. */
import type { ProxyRule } from "../config/resolve.ts";
import { Upstream } from "./upstream.ts";

export interface ProxyRoute {
  upstream: Upstream;
  /** the name as the upstream knows it (the prefix taken off) */
  upstreamName: string;
  /** "" for the registry-mirrors fallback, which a local repository overrides */
  prefix: string;
  ttlMs: number;
}

const DOCKER_HUB = /^https?:\/\/(registry-1\.docker\.io|index\.docker\.io|docker\.io)$/;

export class ProxyRoutes {
  private readonly upstreams: Upstream[];

  /** `onUnavailable`: told of each upstream request that got no usable answer */
  constructor(rules: readonly ProxyRule[], onUnavailable?: (url: string) => void) {
    this.upstreams = [...rules].sort((a, b) => b.prefix.length - a.prefix.length).map((rule) => new Upstream(rule, onUnavailable));
  }

  get empty(): boolean {
    return this.upstreams.length === 0;
  }

  get all(): readonly Upstream[] {
    return this.upstreams;
  }

  /** The route for a name, or null when no [[proxy]] matches it. */
  routeOf(name: string): ProxyRoute | null {
    for (const upstream of this.upstreams) {
      const { prefix } = upstream.rule;
      if (prefix !== "" && !name.startsWith(`${prefix}/`)) continue;
      let upstreamName = prefix === "" ? name : name.slice(prefix.length + 1);
      // Docker Hub keeps official images under library/, which docker adds for "busybox"
      if (!upstreamName.includes("/") && DOCKER_HUB.test(upstream.url)) upstreamName = `library/${upstreamName}`;
      return { upstream, upstreamName, prefix, ttlMs: upstream.rule.ttlMs };
    }
    return null;
  }

  /** The upstream's URL when the name is under a non-empty proxied prefix (no pushes or deletes there). */
  mirroredUrl(name: string): string | null {
    const route = this.routeOf(name);
    return route && route.prefix !== "" ? route.upstream.url : null;
  }
}
