/**
 * The bearer tokens of Docker's token authentication: compact JWS, ES256 (WebCrypto), with the
 * claims Distribution defines: iss, sub, aud, exp, nbf, iat, jti and `access`
 * ([{type, name, actions}]). Only ES256 with Berth's own key is accepted; `alg: none` or any
 * other algorithm is refused before the signature is looked at.
 */

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  /** the user name; "" for an anonymous token */
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === "string" ? encoder.encode(bytes) : bytes).toString("base64url");
}

export async function signToken(claims: TokenClaims, key: SigningKey): Promise<string> {
  const header = base64url(JSON.stringify({ typ: "JWT", alg: "ES256", kid: key.kid }));
  const payload = base64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature = await crypto.subtle.sign(ALGORITHM, key.privateKey, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

export interface VerifyOptions {
  issuer: string;
  audience: string;
  /** seconds since the epoch */
  now: number;
}

/** Why a token was refused; the messages are safe to show to the client. */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenError";
  }
}

/**
 * The claims of a token that is well formed, signed by `key`, issued by `issuer` for
 * `audience`, and valid at `now` (nbf <= now < exp).
 * @throws TokenError otherwise
 */
export async function verifyToken(token: string, key: SigningKey, options: VerifyOptions): Promise<TokenClaims> {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) throw new TokenError("Malformed token");
  const [header, payload, signature] = parts as [string, string, string];
  const head = decodeJson(header);
  if (head.alg !== "ES256") throw new TokenError("Token algorithm not accepted");
  if (head.kid !== undefined && head.kid !== key.kid) throw new TokenError("Token signed by an unknown key");
  const valid = await crypto.subtle.verify(ALGORITHM, key.publicKey, Buffer.from(signature, "base64url"), encoder.encode(`${header}.${payload}`));
  if (!valid) throw new TokenError("Token signature is invalid");
  const claims = readClaims(decodeJson(payload));
  if (claims.iss !== options.issuer) throw new TokenError("Token issuer not trusted");
  if (claims.aud !== options.audience) throw new TokenError("Token is for another service");
  if (options.now < claims.nbf) throw new TokenError("Token is not valid yet");
  if (options.now >= claims.exp) throw new TokenError("Token has expired");
  return claims;
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TokenError("Malformed token");
}

function readClaims(raw: Record<string, unknown>): TokenClaims {
  const text = (key: string) => {
    const value = raw[key];
    if (typeof value !== "string") throw new TokenError(`Token claim "${key}" missing`);
    return value;
  };
  const number = (key: string) => {
    const value = raw[key];
    if (typeof value !== "number" || !Number.isFinite(value)) throw new TokenError(`Token claim "${key}" missing`);
    return value;
  };
  // aud may be a list (RFC 7519); Berth issues a single string and accepts a one-element list
  const aud = Array.isArray(raw.aud) && raw.aud.length === 1 ? raw.aud[0] : raw.aud;
  if (typeof aud !== "string") throw new TokenError('Token claim "aud" missing');
  const access = raw.access ?? [];
  if (!Array.isArray(access)) throw new TokenError('Token claim "access" is not a list');
  return {
    iss: text("iss"),
    sub: text("sub"),
    aud,
    exp: number("exp"),
    nbf: number("nbf"),
    iat: number("iat"),
    jti: text("jti"),
    access: access.map(readAccessEntry),
  };
}

function readAccessEntry(value: unknown): AccessEntry {
  if (typeof value !== "object" || value === null) throw new TokenError('Token claim "access" is malformed');
  const { type, name, actions } = value as Record<string, unknown>;
  if (typeof type !== "string" || typeof name !== "string" || !Array.isArray(actions) || !actions.every((a) => typeof a === "string")) {
    throw new TokenError('Token claim "access" is malformed');
  }
  return { type, name, actions: actions as string[] };
}
