/**
 * The token signing key: an ECDSA P-256 key pair made on first start and kept as a private JWK
 * at berth/auth/token-key.jwk in the storage (through the driver, so every process serving the
 * same storage signs with the same key; the filesystem driver keeps berth/ files at 0600).
 * Losing it only invalidates the tokens in flight; clients fetch new ones.
 */
import { PathNotFoundError, type StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { base64url, type SigningKey } from "./jwt.ts";

const PARAMS = { name: "ECDSA", namedCurve: "P-256" } as const;

interface PrivateJwk {
  kty: "EC";
  crv: "P-256";
  d: string;
  x: string;
  y: string;
}

function isPrivateJwk(value: unknown): value is PrivateJwk {
  if (typeof value !== "object" || value === null) return false;
  const fields = value as Record<string, unknown>;
  return fields.kty === "EC" && fields.crv === "P-256" && ["d", "x", "y"].every((name) => typeof fields[name] === "string" && fields[name] !== "");
}

/** Loads the key, or makes and stores one. @throws Error when the stored key cannot be used. */
export async function loadSigningKey(storage: StorageDriver): Promise<SigningKey> {
  const where = `${paths.tokenKey()} in the storage`;
  let text: string;
  try {
    text = new TextDecoder().decode(await storage.getContent(paths.tokenKey()));
  } catch (error) {
    if (!(error instanceof PathNotFoundError)) throw error;
    text = await makeKey(storage);
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch (error) {
    throw new Error(`Cannot read the token signing key ${where}: ${(error as Error).message}; remove it to make a new key`);
  }
  if (!isPrivateJwk(jwk)) throw new Error(`The token signing key ${where} is not an EC P-256 private key; remove it to make a new key`);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, PARAMS, false, ["sign"]);
  const publicKey = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, PARAMS, true, ["verify"]);
  return { kid: await thumbprint(jwk.x, jwk.y), privateKey, publicKey };
}

async function makeKey(storage: StorageDriver): Promise<string> {
  const pair = await crypto.subtle.generateKey(PARAMS, true, ["sign", "verify"]);
  const text = JSON.stringify(await crypto.subtle.exportKey("jwk", pair.privateKey)) + "\n";
  await storage.putContent(paths.tokenKey(), text);
  return text;
}

/** RFC 7638 JWK thumbprint, the key id in token headers. */
async function thumbprint(x: string, y: string): Promise<string> {
  const canonical = JSON.stringify({ crv: "P-256", kty: "EC", x, y });
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical))));
}
