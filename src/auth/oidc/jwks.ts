/**
 * An OIDC issuer's signing keys: found through `<issuer>/.well-known/openid-configuration`
 * (whose `issuer` must be the configured one) and its `jwks_uri`, fetched once and cached.
 * The cache is refreshed after an hour; a token naming a key id the cache does not hold
 * (the issuer rotated its keys) fetches the set again, at most a few times a minute per
 * issuer, so tokens with made-up key ids cannot make Berth hammer the issuer. When a refresh
 * fails, the keys fetched before stay in use.
 */

export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

/** The issuer could not be asked (network, HTTP status, malformed documents). */
export class IssuerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IssuerUnavailable";
  }
}

export interface JwksOptions {
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

const REFRESH_AFTER_MS = 60 * 60_000;
/** unknown-kid refetches: a burst of this many, then one per REFILL_MS */
const REFETCH_BURST = 3;
const REFILL_MS = 20_000;
const MAX_DOCUMENT_BYTES = 1024 * 1024;

interface Cached {
  keys: Jwk[];
  fetchedAt: number;
}

export class IssuerKeys {
  private cached: Cached | null = null;
  private inFlight: Promise<Cached> | null = null;
  private refetchTokens = REFETCH_BURST;
  private refilledAt: number;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly fetcher: typeof fetch;

  constructor(
    readonly issuer: string,
    options: JwksOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.fetcher = options.fetch ?? fetch;
    this.refilledAt = this.now();
  }

  /**
   * The key `kid` names (or the only key, when the token names none), or null when the issuer
   * has no such key. @throws IssuerUnavailable when no keys could ever be fetched
   */
  async find(kid: string | undefined): Promise<Jwk | null> {
    let cached = this.cached;
    if (cached === null || this.now() - cached.fetchedAt > REFRESH_AFTER_MS) cached = await this.refresh(cached);
    const found = pick(cached.keys, kid);
    if (found !== null || !this.mayRefetch()) return found;
    return pick((await this.refresh(cached)).keys, kid);
  }

  private mayRefetch(): boolean {
    const now = this.now();
    const refills = Math.floor((now - this.refilledAt) / REFILL_MS);
    if (refills > 0) {
      this.refetchTokens = Math.min(REFETCH_BURST, this.refetchTokens + refills);
      this.refilledAt += refills * REFILL_MS;
    }
    if (this.refetchTokens === 0) return false;
    this.refetchTokens--;
    return true;
  }

  /** Fetches the keys (one fetch at a time); falls back to `stale` when that fails. */
  private async refresh(stale: Cached | null): Promise<Cached> {
    this.inFlight ??= this.fetchKeys().finally(() => {
      this.inFlight = null;
    });
    try {
      this.cached = await this.inFlight;
      return this.cached;
    } catch (error) {
      if (stale !== null && error instanceof IssuerUnavailable) return stale;
      throw error;
    }
  }

  private async fetchKeys(): Promise<Cached> {
    const discovery = await this.getJson(`${this.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
    if (discovery.issuer !== this.issuer) throw new IssuerUnavailable(`the discovery document of ${this.issuer} names another issuer`);
    const jwksUri = discovery.jwks_uri;
    if (typeof jwksUri !== "string" || !isTrustedUrl(jwksUri)) throw new IssuerUnavailable(`the discovery document of ${this.issuer} has no usable jwks_uri`);
    const set = await this.getJson(jwksUri);
    if (!Array.isArray(set.keys)) throw new IssuerUnavailable(`${jwksUri} is not a JWK set`);
    const keys = set.keys.filter(isJwk).filter((key) => key.use === undefined || key.use === "sig");
    return { keys, fetchedAt: this.now() };
  }

  private async getJson(url: string): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await this.fetcher(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: "error", headers: { Accept: "application/json" } });
    } catch (error) {
      throw new IssuerUnavailable(`cannot fetch ${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!response.ok) throw new IssuerUnavailable(`${url} answered ${response.status}`);
    const body = await response.arrayBuffer();
    if (body.byteLength > MAX_DOCUMENT_BYTES) throw new IssuerUnavailable(`${url} answered more than ${MAX_DOCUMENT_BYTES} bytes`);
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(body));
      if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // below
    }
    throw new IssuerUnavailable(`${url} did not answer a JSON object`);
  }
}

function pick(keys: Jwk[], kid: string | undefined): Jwk | null {
  if (kid === undefined) return keys.length === 1 ? (keys[0] as Jwk) : null;
  return keys.find((key) => key.kid === kid) ?? null;
}

function isJwk(value: unknown): value is Jwk {
  if (typeof value !== "object" || value === null) return false;
  const { kty, kid, alg, use } = value as Record<string, unknown>;
  return typeof kty === "string" && [kid, alg, use].every((member) => member === undefined || typeof member === "string");
}

/** https, or http on loopback (a test issuer, a local proxy). */
export function isTrustedUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || (parsed.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname));
  } catch {
    return false;
  }
}
