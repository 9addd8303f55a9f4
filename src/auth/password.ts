/**
 * Password hashes as htpasswd files hold them: bcrypt (`$2y$`, what `htpasswd -B` writes, also
 * `$2a$`/`$2b$`) and argon2 (`$argon2id$`). Verification uses Bun.password, which a compiled
 * binary carries; the npm argon2 addon could not be loaded from one.
 */

export type HashAlgorithm = "bcrypt" | "argon2id";

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const ARGON2 = /^\$argon2(id|i|d)\$v=\d+\$m=(\d+),t=(\d+),p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

/** Whether Berth can verify this hash (other htpasswd formats, e.g. MD5 `$apr1$`, are refused). */
export function isSupportedHash(hash: string): boolean {
  return BCRYPT.test(hash) || ARGON2.test(hash);
}

/** The algorithm and cost of a hash as a string key ("bcrypt:5", "argon2id:65536:2"), or null. */
export function hashParameters(hash: string): string | null {
  const bcrypt = BCRYPT.exec(hash);
  if (bcrypt) return `bcrypt:${Number(bcrypt[1])}`;
  const argon = ARGON2.exec(hash);
  if (argon) return `argon2${argon[1]}:${argon[2]}:${argon[3]}`;
  return null;
}

/**
 * A new hash: argon2id by default (Bun's parameters, m=64 MiB, t=2), or bcrypt (cost 10) for
 * files that Apache tools must read too. bcrypt is written as `$2y$`, the prefix Apache knows.
 */
export async function hashPassword(password: string, algorithm: HashAlgorithm = "argon2id"): Promise<string> {
  if (algorithm === "bcrypt") {
    if (new TextEncoder().encode(password).length > 72) throw new RangeError("bcrypt uses only the first 72 bytes of a password; use argon2id for longer ones");
    const hash = await Bun.password.hash(password, { algorithm: "bcrypt", cost: 10 });
    return hash.replace(/^\$2b\$/, "$2y$");
  }
  return Bun.password.hash(password, { algorithm: "argon2id" });
}

/** True when `password` matches `hash`; false for a wrong password or a hash Berth cannot read. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (!isSupportedHash(hash)) return false;
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false;
  }
}

/**
 * A hash of a random password with the same algorithm and cost as `parameters` (from
 * hashParameters), so checking a password for an unknown user costs what a real check costs.
 */
export async function dummyHash(parameters: string | null): Promise<string> {
  const secret = crypto.randomUUID();
  const [algorithm, first, second] = (parameters ?? "argon2id:65536:2").split(":");
  if (algorithm === "bcrypt") return Bun.password.hash(secret, { algorithm: "bcrypt", cost: Number(first) });
  const variant = algorithm === "argon2i" || algorithm === "argon2d" ? algorithm : "argon2id";
  return Bun.password.hash(secret, { algorithm: variant, memoryCost: Number(first), timeCost: Number(second) });
}
