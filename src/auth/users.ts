/**
 * Checks a user name and password against the htpasswd file. An unknown user costs the same
 * as a known one (the password is checked against a dummy hash of the same algorithm and
 * cost), so timing does not tell which names exist.
 *
 * With basic auth every request carries the password, and an argon2id check takes ~100 ms;
 * so a successful check is remembered for a short time (keyed by an HMAC of the password with
 * a per-process key, and tied to the stored hash, so a changed password or a removed user
 * takes effect at once).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { HtpasswdFile } from "./htpasswd.ts";
import { dummyHash, hashParameters, verifyPassword } from "./password.ts";

const REMEMBER_MS = 5 * 60_000;
const MAX_REMEMBERED = 10_000;

interface Remembered {
  mac: Buffer;
  hash: string;
  until: number;
}

export class UserStore {
  private readonly key = randomBytes(32);
  private readonly remembered = new Map<string, Remembered>();
  private readonly dummies = new Map<string, Promise<string>>();

  constructor(
    private readonly file: HtpasswdFile,
    private readonly now: () => number = Date.now,
  ) {}

  exists(name: string): boolean {
    return this.file.lookup(name) !== undefined;
  }

  /** True when `name` is in the file and `password` matches its hash. */
  async verify(name: string, password: string): Promise<boolean> {
    const hash = this.file.lookup(name);
    const mac = createHmac("sha256", this.key).update(name).update("\0").update(password).digest();
    if (hash !== undefined) {
      const known = this.remembered.get(name);
      if (known && known.hash === hash && known.until > this.now() && timingSafeEqual(known.mac, mac)) return true;
    }
    const ok = await verifyPassword(password, hash ?? (await this.dummy()));
    if (hash === undefined || !ok) return false;
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value as string);
    this.remembered.set(name, { mac, hash, until: this.now() + REMEMBER_MS });
    return true;
  }

  /** Computes the dummy hash ahead, so the first unknown user is not slower than later ones. */
  async warm(): Promise<void> {
    await this.dummy();
  }

  /** A dummy hash with the algorithm and cost most users in the file have. */
  private dummy(): Promise<string> {
    const counts = new Map<string, number>();
    for (const hash of this.file.hashes()) {
      const parameters = hashParameters(hash);
      if (parameters !== null) counts.set(parameters, (counts.get(parameters) ?? 0) + 1);
    }
    let common: string | null = null;
    for (const [parameters, count] of counts) if (common === null || count > (counts.get(common) ?? 0)) common = parameters;
    const key = common ?? "default";
    let dummy = this.dummies.get(key);
    if (!dummy) {
      dummy = dummyHash(common);
      this.dummies.set(key, dummy);
    }
    return dummy;
  }
}
