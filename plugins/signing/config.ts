/**
 * The [signing] section of registry.toml: trust policies, each with its repository globs, its
 * mode, and the keys and CA roots (PEM files) it trusts. Key files are read here, so a policy
 * that names a missing or unreadable key stops start-up (and a reload) with the key's name.
 */
import { readFileSync } from "node:fs";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { globToRegExp } from "../../src/oci/glob.ts";
import { checkConfig, invalidConfigKey } from "../../src/util/config-schema.ts";
import { DerError } from "./der.ts";
import { PublicKey } from "./keys.ts";
import { pemBlocks } from "./pem.ts";
import { type Certificate, parseCertificate } from "./x509.ts";

/** The [signing] section cannot be used; the message names the key. */
export class SigningConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SigningConfigError";
  }
}

const PolicySchema = Type.Object(
  {
    repositories: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: "repository globs (* within a component, ** across)" }),
    mode: Type.Union([Type.Literal("enforce"), Type.Literal("warn"), Type.Literal("off")], { default: "enforce", description: "enforce, warn or off" }),
    keys: Type.Array(Type.String({ minLength: 1 }), { default: [], description: "PEM public key files: ECDSA P-256/P-384, Ed25519, RSA" }),
    roots: Type.Array(Type.String({ minLength: 1 }), { default: [], description: "PEM CA bundles for certificate signatures (cosign, Notation)" }),
    identities: Type.Array(Type.String({ minLength: 1 }), { default: [], description: "globs a certificate's SAN email or URI, or subject, must match" }),
  },
  { additionalProperties: false },
);

export const SigningSchema = Type.Object({ policies: Type.Array(PolicySchema, { default: [] }) }, { default: {}, additionalProperties: false });

export type Mode = "enforce" | "warn" | "off";

/** A policy ready to use: its globs compiled, its keys and roots read. */
export interface Policy {
  /** its repository globs, as denials and reports name it */
  label: string;
  mode: Mode;
  matches: RegExp[];
  keys: PublicKey[];
  roots: Certificate[];
  identities: string[];
}

function signingKey(path: string[]): string {
  return `signing${path.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join("")}`;
}

/** Checks the section and reads every key and root it names. @throws SigningConfigError naming the key */
export function loadSigningPolicies(raw: unknown): Policy[] {
  const checked = checkConfig(SigningSchema, Value.Default(SigningSchema, structuredClone(raw ?? {})), { key: signingKey });
  if (!checked.ok) throw new SigningConfigError(checked.problem);
  return checked.value.policies.map((policy, i) => loadPolicy(policy, i));
}

function loadPolicy(policy: Static<typeof PolicySchema>, i: number): Policy {
  const key = (name: string) => `signing.policies[${i}].${name}`;
  if (policy.mode !== "off" && policy.keys.length === 0 && policy.roots.length === 0) {
    throw new SigningConfigError(invalidConfigKey(key("keys"), `a policy in mode "${policy.mode}" needs keys or roots to trust`));
  }
  const keys = policy.keys.flatMap((file, k) =>
    blocksOf(file, key(`keys[${k}]`), "PUBLIC KEY").map((der) => attempt(key(`keys[${k}]`), file, () => PublicKey.fromSpki(der, file))),
  );
  const roots = policy.roots.flatMap((file, k) =>
    blocksOf(file, key(`roots[${k}]`), "CERTIFICATE").map((der) => attempt(key(`roots[${k}]`), file, () => parseCertificate(der))),
  );
  return { label: policy.repositories.join(","), mode: policy.mode, matches: policy.repositories.map(globToRegExp), keys, roots, identities: policy.identities };
}

function blocksOf(file: string, key: string, label: string): Uint8Array[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new SigningConfigError(invalidConfigKey(key, `cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`));
  }
  const blocks = pemBlocks(text).filter((block) => block.label === label);
  if (blocks.length === 0) throw new SigningConfigError(invalidConfigKey(key, `"${file}" holds no PEM ${label} block`));
  return blocks.map((block) => block.der);
}

function attempt<T>(key: string, file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof DerError) throw new SigningConfigError(invalidConfigKey(key, `"${file}": ${error.message}`));
    throw error;
  }
}

/** The first policy whose globs match `repository`; null (no policy: off) otherwise. */
export function policyFor(policies: Policy[], repository: string): Policy | null {
  return policies.find((policy) => policy.matches.some((pattern) => pattern.test(repository))) ?? null;
}
