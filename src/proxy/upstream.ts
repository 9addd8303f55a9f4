/**
 * One upstream registry as the pull-through cache talks to it: requests with a time limit and
 * the upstream's authentication (anonymous, basic, or Docker's token flow: a Bearer challenge,
 * then the token endpoint with the repository's pull scope; tokens kept until they expire).
 */
import type { ProxyRule } from "../config/resolve.ts";

/** The upstream gave no usable answer (network, time limit, 5xx, 429, refused credentials). */
export class UpstreamUnavailable extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`upstream ${url} did not answer: ${reason}`);
  }
}

/** Tokens are renewed this long before the upstream says they expire. */
const TOKEN_MARGIN_MS = 10_000;

export class Upstream {
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(
    readonly rule: ProxyRule,
    /** told of each failure as it happens (counted once, however many pulls wait on it) */
    private readonly onUnavailable: (url: string) => void = () => undefined,
  ) {}

  get url(): string {
    return this.rule.url;
  }

  /** The error for an answer that is no use (counted); callers throw it. */
  unavailable(reason: string): UpstreamUnavailable {
    this.onUnavailable(this.rule.url);
    return new UpstreamUnavailable(this.rule.url, reason);
  }

  /**
   * GET or HEAD `/v2/<name>/<path>`: any answer that is neither 5xx nor 429 (404 included).
   * The time limit covers the answer's head; a body is read by the caller.
   * @throws UpstreamUnavailable
   */
  async request(method: "GET" | "HEAD", name: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const target = `${this.rule.url}/v2/${name}/${path}`;
    const scope = `repository:${name}:pull`;
    let response = await this.send(method, target, { ...headers, ...this.authorization(scope) });
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate") ?? "";
      await response.body?.cancel();
      const auth = await this.answer(challenge, scope);
      if (auth !== null) response = await this.send(method, target, { ...headers, Authorization: auth });
    }
    if (response.status >= 500 || response.status === 429 || response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw this.unavailable(`${method} ${path} answered ${response.status}`);
    }
    return response;
  }

  private async send(method: string, target: string, headers: Record<string, string>): Promise<Response> {
    // the limit is on the answer's head: a big blob may take longer to stream than to start
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.rule.timeoutMs} ms`)), this.rule.timeoutMs);
    try {
      return await fetch(target, { method, headers, redirect: "follow", signal: controller.signal });
    } catch (error) {
      throw this.unavailable(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /** A token already held for the scope, else basic credentials when configured (saves a 401 per request). */
  private authorization(scope: string): Record<string, string> {
    const held = this.tokens.get(scope);
    if (held && held.expires > Date.now()) return { Authorization: `Bearer ${held.token}` };
    const basic = this.basic();
    return basic ? { Authorization: basic } : {};
  }

  /** The Authorization header that meets a challenge, or null when none can. */
  private async answer(challenge: string, scope: string): Promise<string | null> {
    const basic = this.basic();
    if (/^basic\b/i.test(challenge)) return basic;
    if (!/^bearer\b/i.test(challenge)) return null;
    const params = challengeParams(challenge);
    const realm = params.get("realm");
    if (!realm) return null;
    const tokenUrl = new URL(realm);
    if (params.has("service")) tokenUrl.searchParams.set("service", params.get("service") ?? "");
    tokenUrl.searchParams.set("scope", params.get("scope") ?? scope);
    let response: Response;
    try {
      response = await fetch(tokenUrl, { headers: basic ? { Authorization: basic } : {}, signal: AbortSignal.timeout(this.rule.timeoutMs) });
    } catch (error) {
      throw this.unavailable(`token endpoint ${tokenUrl.origin}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw this.unavailable(`token endpoint ${tokenUrl.origin} answered ${response.status}`);
    }
    const body: unknown = await response.json().catch(() => null);
    const token = tokenOf(body);
    if (token === null) throw this.unavailable(`token endpoint ${tokenUrl.origin} gave no token`);
    this.tokens.set(scope, { token: token.token, expires: Date.now() + token.expiresInMs - TOKEN_MARGIN_MS });
    return `Bearer ${token.token}`;
  }

  private basic(): string | null {
    if (this.rule.username === "") return null;
    return `Basic ${Buffer.from(`${this.rule.username}:${this.rule.password}`).toString("base64")}`;
  }
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
export function challengeParams(challenge: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const match of challenge.replace(/^\w+\s+/, "").matchAll(/(\w+)="([^"]*)"/g)) params.set((match[1] as string).toLowerCase(), match[2] as string);
  return params;
}

/** The token endpoint's answer: `token` or `access_token`, and `expires_in` seconds (60 when absent, as Docker assumes). */
function tokenOf(body: unknown): { token: string; expiresInMs: number } | null {
  if (typeof body !== "object" || body === null) return null;
  const fields = body as Record<string, unknown>;
  const token = typeof fields.token === "string" ? fields.token : typeof fields.access_token === "string" ? fields.access_token : null;
  if (token === null || token === "") return null;
  const seconds = typeof fields.expires_in === "number" && fields.expires_in > 0 ? fields.expires_in : 60;
  return { token, expiresInMs: seconds * 1000 };
}
