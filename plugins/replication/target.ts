/**
 * The target registry of a replication rule, over the distribution API: HEAD, uploads, mounts
 * and manifest PUTs, authenticated anonymously, with basic credentials, or by Docker's token
 * flow (a Bearer challenge answered at the token endpoint with push and pull scope).
 */
import type { Rule } from "./config.ts";

export class TargetError extends Error {}

/** The scope a request needs: push and pull on the repository, plus pull on a mount's source. */
function scopeOf(repository: string, from?: string): string {
  return [`repository:${repository}:pull,push`, ...(from ? [`repository:${from}:pull`] : [])].join(" ");
}

export class Target {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly rule: Rule) {}

  /** `path` below /v2/<repository>/; 401 answered once with credentials; other statuses are the caller's. */
  async request(method: string, repository: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit | null; from?: string; absolute?: string } = {}): Promise<Response> {
    const url = init.absolute ?? `${this.rule.url}/v2/${repository}/${path}`;
    const scope = scopeOf(repository, init.from);
    const send = (auth: string | null) =>
      fetch(url, {
        method,
        headers: { ...init.headers, ...(auth ? { Authorization: auth } : {}) },
        body: init.body ?? null,
        redirect: "follow",
        signal: AbortSignal.timeout(this.rule.timeoutMs),
      }).catch((error: unknown) => {
        throw new TargetError(`${method} ${url}: ${error instanceof Error ? error.message : String(error)}`);
      });
    const held = this.tokens.get(scope);
    let response = await send(held ? `Bearer ${held}` : this.basic());
    if (response.status !== 401) return response;
    const challenge = response.headers.get("www-authenticate") ?? "";
    await response.body?.cancel();
    const auth = /^bearer\b/i.test(challenge) ? await this.token(challenge, scope) : this.basic();
    if (auth === null) throw new TargetError(`${this.rule.url} asks for credentials (401) and none are configured`);
    // a stream body cannot be sent twice: callers send blobs after a HEAD has authenticated
    response = await send(auth);
    return response;
  }

  /** The URL relative Locations are resolved against. */
  base(repository: string): string {
    return `${this.rule.url}/v2/${repository}/`;
  }

  private basic(): string | null {
    return this.rule.username === "" ? null : `Basic ${Buffer.from(`${this.rule.username}:${this.rule.password}`).toString("base64")}`;
  }

  private async token(challenge: string, scope: string): Promise<string> {
    const params = new Map<string, string>();
    for (const match of challenge.replace(/^\w+\s+/, "").matchAll(/(\w+)="([^"]*)"/g)) params.set((match[1] as string).toLowerCase(), match[2] as string);
    const realm = params.get("realm");
    if (!realm) throw new TargetError(`${this.rule.url} sent a Bearer challenge without a realm`);
    const url = new URL(realm);
    if (params.has("service")) url.searchParams.set("service", params.get("service") ?? "");
    for (const part of scope.split(" ")) url.searchParams.append("scope", part);
    const basic = this.basic();
    const response = await fetch(url, { headers: basic ? { Authorization: basic } : {}, signal: AbortSignal.timeout(this.rule.timeoutMs) }).catch((error: unknown) => {
      throw new TargetError(`token endpoint ${url.origin}: ${String(error)}`);
    });
    if (!response.ok) throw new TargetError(`token endpoint ${url.origin} answered ${response.status}`);
    const body: unknown = await response.json().catch(() => null);
    const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    const token = typeof fields.token === "string" ? fields.token : typeof fields.access_token === "string" ? fields.access_token : "";
    if (token === "") throw new TargetError(`token endpoint ${url.origin} gave no token`);
    this.tokens.set(scope, token);
    return `Bearer ${token}`;
  }
}

/** A failed answer as an error naming what was asked. */
export async function refused(response: Response, what: string): Promise<TargetError> {
  const text = (await response.text().catch(() => "")).slice(0, 300);
  return new TargetError(`${what} answered ${response.status}${text ? `: ${text}` : ""}`);
}
