/**
 * Who made a signature: one of the policy's trusted keys, or a certificate that chains to one
 * of its roots and matches its identities. The signed bytes' meaning (the payload) is checked
 * by the caller, only once the signature is known to come from someone trusted.
 */
import { parseAll, verifyChain } from "./chain.ts";
import type { Scheme } from "./keys.ts";
import { refused, type Trust, type Verdict } from "./report.ts";

export interface SignedBytes {
  signature: Uint8Array;
  data: Uint8Array;
  /** ECDSA signatures' encoding: DER (cosign, sigstore) or P1363 (JWS) */
  encoding: "der" | "p1363";
  /** the certificate chain it carries, leaf first (DER); empty when none */
  certificates: Uint8Array[];
  /** the algorithm the envelope names (JWS `alg`); otherwise the key's usual ones are tried */
  scheme?: Scheme;
}

export async function findSigner(trust: Trust, signed: SignedBytes, now: Date): Promise<Verdict> {
  for (const key of trust.keys) {
    for (const scheme of signed.scheme ? [signed.scheme] : key.defaultSchemes(signed.encoding)) {
      if (await key.verify(scheme, signed.signature, signed.data)) return { verified: true, signer: `key ${key.label}` };
    }
  }
  const keyReason = trust.keys.length > 0 ? "the signature does not verify with any trusted key" : "the policy trusts no keys";
  if (signed.certificates.length === 0) return refused(keyReason);
  const certificates = parseAll(signed.certificates);
  if (typeof certificates === "string") return refused(certificates);
  const [leaf, ...intermediates] = certificates;
  if (!leaf) return refused(keyReason);
  const chain = await verifyChain(leaf, intermediates, trust, now);
  if (!chain.ok) return refused(trust.roots.length === 0 ? keyReason : chain.reason);
  for (const scheme of signed.scheme ? [signed.scheme] : leaf.publicKey.defaultSchemes(signed.encoding)) {
    if (await leaf.publicKey.verify(scheme, signed.signature, signed.data)) return { verified: true, signer: `certificate ${chain.identity}` };
  }
  return refused(`the signature does not verify with the key of certificate "${leaf.subject}"`, `certificate ${chain.identity}`);
}
