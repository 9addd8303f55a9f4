/**
 * A Berth process with signing policies, and the keys and certificates the tests sign with:
 * `prod/**` enforced with four trusted keys (ECDSA P-256 and P-384, Ed25519, RSA) and two CAs
 * (identities https://ci.example.com/*), `warn/**` in warn mode, `open/**` with no policy.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, type Resp } from "../../helpers/oci.ts";
import { type BerthProcess, startBerth } from "../../helpers/server.ts";
import { makeCertificate, makeKey, type TestCertificate, type TestKey } from "./keys.ts";

export interface Trust {
  ci: TestKey;
  p384: TestKey;
  ed: TestKey;
  rsa: TestKey;
  /** not in any policy */
  stranger: TestKey;
  /** a leaf (RSA) under a trusted CA, for Notation */
  notary: TestCertificate;
  /** a leaf (ECDSA) under a trusted CA, for cosign certificate signatures */
  cosigner: TestCertificate;
  /** a leaf whose CA no policy trusts */
  rogue: TestCertificate;
  /** a leaf under a trusted CA whose identity matches no policy glob */
  outsider: TestCertificate;
}

export async function makeTrust(dir: string): Promise<Trust> {
  mkdirSync(join(dir, "keys"), { recursive: true });
  const [ci, p384, ed, rsa, stranger] = await Promise.all([makeKey(), makeKey("ecdsa-p384"), makeKey("ed25519"), makeKey("rsa"), makeKey()]);
  const keys = join(dir, "keys");
  const notary = await makeCertificate(keys, "notary", "rsa");
  const cosigner = await makeCertificate(keys, "cosigner", "ecdsa-p256");
  const rogue = await makeCertificate(keys, "rogue", "ecdsa-p256");
  const outsider = await makeCertificate(keys, "outsider", "ecdsa-p256", { uri: "https://elsewhere.example.org/x", email: "someone@example.org" });
  for (const [name, key] of Object.entries({ ci, p384, ed, rsa })) writeFileSync(join(keys, `${name}.pub`), key.publicPem);
  // the outsider's CA is trusted: only its identity is wrong
  writeFileSync(join(keys, "roots.pem"), notary.caPem + cosigner.caPem + outsider.caPem);
  return { ci, p384, ed, rsa, stranger, notary, cosigner, rogue, outsider };
}

export function signingConfig(keys: string[] = ["keys/ci.pub", "keys/p384.pub", "keys/ed.pub", "keys/rsa.pub"]): string {
  return `
[[signing.policies]]
repositories = ["warn/**"]
mode = "warn"
keys = ["keys/ci.pub"]

[[signing.policies]]
repositories = ["prod/**"]
mode = "enforce"
keys = ${JSON.stringify(keys)}
roots = ["keys/roots.pem"]
identities = ["https://ci.example.com/*"]
`;
}

/** Starts Berth with `config` written to <dir>/registry.toml (key paths relative to it), storage in <dir>/data. */
export async function startSigned(dir: string, config: string = signingConfig()): Promise<BerthProcess> {
  writeFileSync(join(dir, "registry.toml"), config);
  mkdirSync(join(dir, "data"), { recursive: true });
  return startBerth({ root: join(dir, "data"), args: ["serve", "--config", join(dir, "registry.toml")] });
}

export interface SignatureAnswer {
  state: string;
  satisfied: boolean;
  signer: string;
  signatures: Array<{ format: string; verified: boolean; signer: string; reason: string }>;
}

/** The plugin's report of a manifest's signatures (GET …/signatures), shape checked. */
export async function signaturesOf(base: string, repo: string, reference: string): Promise<SignatureAnswer> {
  const res: Resp = await call(base, `/api/v1/repositories/${repo}/manifests/${reference}/signatures`);
  if (res.status !== 200) throw new Error(`signatures of ${repo}@${reference}: ${res.status} ${res.text}`);
  const body: unknown = JSON.parse(res.text);
  if (typeof body !== "object" || body === null || !("state" in body) || !("satisfied" in body) || !("signatures" in body) || !("signer" in body)) throw new Error(`unexpected answer ${res.text}`);
  const { state, satisfied, signer, signatures } = body;
  if (typeof state !== "string" || typeof satisfied !== "boolean" || typeof signer !== "string" || !Array.isArray(signatures)) throw new Error(`unexpected answer ${res.text}`);
  return {
    state,
    satisfied,
    signer,
    signatures: signatures.map((entry: unknown) => {
      const e = typeof entry === "object" && entry !== null ? entry : {};
      const text = (key: string) => (key in e && typeof (e as Record<string, unknown>)[key] === "string" ? String((e as Record<string, unknown>)[key]) : "");
      return { format: text("format"), verified: "verified" in e && e.verified === true, signer: text("signer"), reason: text("reason") };
    }),
  };
}
