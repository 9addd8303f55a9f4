/** What a signature check reports, and what it checks a signature against. */
import type { Certificate } from "./x509.ts";
import type { PublicKey } from "./keys.ts";

export type Format = "cosign" | "sigstore-bundle" | "notation";

export interface SignatureReport {
  format: Format;
  /** the manifest that carries the signature: a `sha256-<hex>.sig` tag's or a referrer's */
  manifest: string;
  /** how it was found */
  via: "tag" | "referrer";
  /** which layer of that manifest */
  layer: number;
  verified: boolean;
  /** the trusted key (its file) or certificate identity it verified with; "" when none */
  signer: string;
  /** why it does not count; "" when it does */
  reason: string;
}

/** The manifest a signature must name. */
export interface Subject {
  repository: string;
  /** sha256:<hex> */
  digest: string;
  /** its bytes (a sigstore message signature signs them) */
  bytes: Uint8Array;
}

/** What a policy trusts. */
export interface Trust {
  keys: PublicKey[];
  roots: Certificate[];
  identities: string[];
}

/** A signature's verdict before it is placed in a report. */
export type Verdict = { verified: true; signer: string } | { verified: false; signer: string; reason: string };

export function refused(reason: string, signer = ""): Verdict {
  return { verified: false, signer, reason };
}
