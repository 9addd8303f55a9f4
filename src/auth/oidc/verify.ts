/**
 * Verifies an OIDC ID token (a compact JWS) with WebCrypto: the algorithm is one of the
 * asymmetric ones issuers use (RS256/384/512, PS256, ES256/384; never `none` or HMAC), the
 * key is the issuer's (jwks.ts) and agrees with that algorithm, the signature holds, and iss,
 * aud, exp, nbf and iat are checked with a minute of leeway for clocks that drift.
 */
import type { IssuerKeys, Jwk } from "./jwks.ts";

/** Why a token was refused; safe to show to its holder. */
export class OidcTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OidcTokenError";
  }
}

export const LEEWAY_SECONDS = 60;

type Verifier = { key: RsaHashedImportParams | EcKeyImportParams; verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams; kty: string };

const ALGORITHMS: Record<string, Verifier> = {
  RS256: { kty: "RSA", key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  RS384: { kty: "RSA", key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  RS512: { kty: "RSA", key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { kty: "RSA", key: { name: "RSA-PSS", hash: "SHA-256" }, verify: { name: "RSA-PSS", saltLength: 32 } },
  ES256: { kty: "EC", key: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } },
  ES384: { kty: "EC", key: { name: "ECDSA", namedCurve: "P-384" }, verify: { name: "ECDSA", hash: "SHA-384" } },
};

export type Claims = Record<string, unknown>;

/** The parts of a token read before anything is trusted: which issuer and key it names. */
export interface UnverifiedToken {
  header: Record<string, unknown>;
  claims: Claims;
  signed: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

/** @throws OidcTokenError when `token` is not a compact JWS with JSON header and claims */
export function readToken(token: string): UnverifiedToken {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) throw new OidcTokenError("Not a JWT");
  const [header, payload, signature] = parts as [string, string, string];
  return {
    header: decodeObject(header),
    claims: decodeObject(payload),
    signed: new TextEncoder().encode(`${header}.${payload}`),
    signature: new Uint8Array(Buffer.from(signature, "base64url")),
  };
}

/**
 * The claims of a token signed by `keys`' issuer, for one of `audiences`, valid at `now` (seconds).
 * @throws OidcTokenError why it is refused; IssuerUnavailable when the keys cannot be fetched
 */
export async function verifyIdToken(token: UnverifiedToken, keys: IssuerKeys, audiences: string[], now: number): Promise<Claims> {
  const { header, claims } = token;
  const algorithm = typeof header.alg === "string" ? ALGORITHMS[header.alg] : undefined;
  if (algorithm === undefined) throw new OidcTokenError(`Token algorithm ${JSON.stringify(header.alg)} not accepted`);
  if (header.kid !== undefined && typeof header.kid !== "string") throw new OidcTokenError("Token key id is malformed");
  if (claims.iss !== keys.issuer) throw new OidcTokenError("Token issuer not trusted");
  const jwk = await keys.find(header.kid);
  if (jwk === null) throw new OidcTokenError("Token signed by a key the issuer does not publish");
  const key = await importKey(jwk, header.alg as string, algorithm);
  const valid = await crypto.subtle.verify(algorithm.verify, key, token.signature, token.signed);
  if (!valid) throw new OidcTokenError("Token signature is invalid");
  if (!tokenAudiences(claims).some((audience) => audiences.includes(audience))) throw new OidcTokenError("Token audience not accepted");
  if (typeof claims.exp !== "number") throw new OidcTokenError('Token claim "exp" missing');
  if (now >= claims.exp + LEEWAY_SECONDS) throw new OidcTokenError("Token has expired");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || now + LEEWAY_SECONDS < claims.nbf)) throw new OidcTokenError("Token is not valid yet");
  if (claims.iat !== undefined && (typeof claims.iat !== "number" || now + LEEWAY_SECONDS < claims.iat)) throw new OidcTokenError("Token is issued in the future");
  return claims;
}

async function importKey(jwk: Jwk, alg: string, algorithm: Verifier): Promise<CryptoKey> {
  // the key must be of the token's kind: an RSA key named by an ES256 token (or the reverse) is refused
  if (jwk.kty !== algorithm.kty || (jwk.alg !== undefined && jwk.alg !== alg)) throw new OidcTokenError("Token algorithm does not match the issuer's key");
  if (algorithm.kty === "EC" && jwk.crv !== (algorithm.key as EcKeyImportParams).namedCurve) throw new OidcTokenError("Token algorithm does not match the issuer's key");
  const members: JsonWebKey = { kty: jwk.kty };
  for (const name of ["n", "e", "crv", "x", "y"] as const) {
    const value = jwk[name];
    if (typeof value === "string") members[name] = value;
  }
  try {
    return await crypto.subtle.importKey("jwk", members, algorithm.key, false, ["verify"]);
  } catch {
    throw new OidcTokenError("The issuer's key cannot be used");
  }
}

function decodeObject(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // below
  }
  throw new OidcTokenError("Not a JWT");
}

/** The token's `aud`: one string or a list of them (RFC 7519). */
export function tokenAudiences(claims: Claims): string[] {
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  return aud.filter((value): value is string => typeof value === "string");
}
