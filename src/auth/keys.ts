/**
 * The token signing key: an ECDSA P-256 key pair made on first start and kept as a private JWK
 * at berth/auth/token-key.jwk in the storage (through the driver, so every process serving the
 * same storage signs with the same key; the filesystem driver keeps berth/ files at 0600).
 * Losing it only invalidates the tokens in flight; clients fetch new ones.
 *
 * Replicas starting together on a new storage must not each make their own (each would refuse
 * the others' tokens): with a shared database, the first key inserted there within a minute
 * wins and every replica stores and uses that one.
 */
import type { SQL } from "bun";
import { rowsOf, str } from "../metadata/rows.ts";
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
export async function loadSigningKey(storage: StorageDriver, shared: SQL | null = null): Promise<SigningKey> {
  const where = `${paths.tokenKey()} in the storage`;
  let text: string;
  try {
    text = new TextDecoder().decode(await storage.getContent(paths.tokenKey()));
  } catch (error) {
    if (!(error instanceof PathNotFoundError)) throw error;
    text = await makeKey(storage, shared);
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

async function makeKey(storage: StorageDriver, shared: SQL | null): Promise<string> {
  const pair = await crypto.subtle.generateKey(PARAMS, true, ["sign", "verify"]);
  let text = JSON.stringify(await crypto.subtle.exportKey("jwk", pair.privateKey)) + "\n";
  if (shared) {
    // a row older than a minute is from an earlier key (removed to make a new one): replaced
    await shared`INSERT INTO cluster_settings (key, value, updated_at) VALUES (${KEY_SETTING}, ${text}, (extract(epoch from clock_timestamp()) * 1000)::bigint)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
                 WHERE cluster_settings.updated_at < EXCLUDED.updated_at - 60000`;
    const [row] = rowsOf(await shared`SELECT value FROM cluster_settings WHERE key = ${KEY_SETTING}`);
    if (row) text = str(row, "value");
  }
  await storage.putContent(paths.tokenKey(), text);
  return text;
}

/** Where replicas agree on the first key (src/cluster/schema.ts); the storage keeps the one in use. */
const KEY_SETTING = "token_key_first";

/** RFC 7638 JWK thumbprint, the key id in token headers. */
async function thumbprint(x: string, y: string): Promise<string> {
  const canonical = JSON.stringify({ crv: "P-256", kty: "EC", x, y });
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical))));
}
