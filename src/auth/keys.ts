/**
 * The token signing key: an ECDSA P-256 key pair made on first start and kept as a private JWK
 * in <storage root>/berth/auth/token-key.jwk (mode 0600). Losing it only invalidates the
 * tokens in flight; clients fetch new ones.
 */
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./htpasswd.ts";
import { base64url, type SigningKey } from "./jwt.ts";

const PARAMS = { name: "ECDSA", namedCurve: "P-256" } as const;

export function signingKeyPath(storageRoot: string): string {
  return join(storageRoot, "berth", "auth", "token-key.jwk");
}

/** Loads the key, or makes and stores one. @throws Error when the stored key cannot be used. */
export async function loadSigningKey(storageRoot: string): Promise<SigningKey> {
  const path = signingKeyPath(storageRoot);
  if (!existsSync(path)) {
    const pair = (await crypto.subtle.generateKey(PARAMS, true, ["sign", "verify"])) as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    writeFileAtomic(path, JSON.stringify(jwk) + "\n", 0o600);
    chmodSync(path, 0o600);
  }
  let jwk: JsonWebKey;
  try {
    jwk = JSON.parse(readFileSync(path, "utf8")) as JsonWebKey;
  } catch (error) {
    throw new Error(`Cannot read the token signing key ${path}: ${(error as Error).message}; remove the file to make a new key`);
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.x || !jwk.y) {
    throw new Error(`The token signing key ${path} is not an EC P-256 private key; remove the file to make a new key`);
  }
  const privateKey = await crypto.subtle.importKey("jwk", jwk, PARAMS, false, ["sign"]);
  const publicKey = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, PARAMS, true, ["verify"]);
  return { kid: await thumbprint(jwk.x, jwk.y), privateKey, publicKey };
}

/** RFC 7638 JWK thumbprint, the key id in token headers. */
async function thumbprint(x: string, y: string): Promise<string> {
  const canonical = JSON.stringify({ crv: "P-256", kty: "EC", x, y });
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical))));
}
