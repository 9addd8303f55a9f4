/**
 * Robot secrets: 32 random bytes, shown once, stored only as a SHA-256 hash. A slow password
 * hash (argon2id, as for users) protects guessable passwords; a 256-bit random secret cannot be
 * guessed from its SHA-256, and checking it costs microseconds, so a CI job in basic mode (its
 * secret on every request) does not pay ~100 ms of argon2 per request.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const SECRET_PREFIX = "berth_";
const HASH_PREFIX = "sha256:";

/** A new secret: `berth_` and 43 base64url characters (the prefix lets secret scanners find it). */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function hashSecret(secret: string): string {
  return `${HASH_PREFIX}${createHash("sha256").update(secret).digest("hex")}`;
}

/** Whether `secret` matches `hash`, in time independent of where they differ. */
export function secretMatches(secret: string, hash: string): boolean {
  const given = Buffer.from(hashSecret(secret));
  const stored = Buffer.from(hash);
  return given.length === stored.length && timingSafeEqual(given, stored);
}
