/**
 * Certificate chains for cosign certificate signatures and Notation's x5c: from the leaf,
 * through the intermediates the signature carries, to one of the policy's trusted roots.
 * Each link's signature, each certificate's validity and each issuer's CA flag are checked;
 * then the leaf must match one of the policy's identities.
 */
import { DerError } from "./der.ts";
import { type Certificate, parseCertificate } from "./x509.ts";

const MAX_DEPTH = 6;

export type ChainResult = { ok: true; leaf: Certificate; identity: string } | { ok: false; reason: string };

export interface CertificateTrust {
  roots: Certificate[];
  /** globs: `*` matches any run of characters */
  identities: string[];
}

/** Parses the certificates; the first that does not parse is the reason. */
export function parseAll(ders: Uint8Array[]): Certificate[] | string {
  const out: Certificate[] = [];
  for (const [i, der] of ders.entries()) {
    try {
      out.push(parseCertificate(der));
    } catch (error) {
      if (error instanceof DerError) return `certificate ${i} cannot be read: ${error.message}`;
      throw error;
    }
  }
  return out;
}

/** Checks `leaf` (with `intermediates`) against the trusted roots and identities at `now`. */
export async function verifyChain(leaf: Certificate, intermediates: Certificate[], trust: CertificateTrust, now: Date): Promise<ChainResult> {
  if (trust.roots.length === 0) return { ok: false, reason: "the policy has no trusted roots for certificates" };
  let current = leaf;
  const visited = new Set<Certificate>([leaf]);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const problem = unusable(current, now, depth > 0);
    if (problem) return { ok: false, reason: problem };
    if (trust.roots.some((root) => sameBytes(root.der, current.der))) return identityOf(leaf, trust);
    const root = await issuerAmong(current, trust.roots);
    if (root) {
      const rootProblem = unusable(root, now, true);
      return rootProblem ? { ok: false, reason: rootProblem } : identityOf(leaf, trust);
    }
    // a self-signed certificate the chain carries is not trusted by being there
    const next = await issuerAmong(current, intermediates.filter((candidate) => !visited.has(candidate)));
    if (!next) return { ok: false, reason: `no trusted root issued "${current.subject}" (issuer "${current.issuer}")` };
    visited.add(next);
    current = next;
  }
  return { ok: false, reason: "certificate chain too long" };
}

/** The leaf's identity that matches a policy glob; any identity when the policy lists none. */
function identityOf(leaf: Certificate, trust: CertificateTrust): ChainResult {
  const names = [...leaf.emails, ...leaf.uris, leaf.subject].filter((name) => name !== "");
  if (trust.identities.length === 0) return { ok: true, leaf, identity: names[0] ?? leaf.subject };
  const patterns = trust.identities.map(identityPattern);
  const match = names.find((name) => patterns.some((pattern) => pattern.test(name)));
  if (match !== undefined) return { ok: true, leaf, identity: match };
  return { ok: false, reason: `certificate identity (${names.join("; ")}) matches none of the policy's identities` };
}

function identityPattern(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

function unusable(certificate: Certificate, now: Date, asIssuer: boolean): string | null {
  const who = `"${certificate.subject}"`;
  if (now < certificate.notBefore) return `certificate ${who} is not valid before ${certificate.notBefore.toISOString()}`;
  if (now > certificate.notAfter) return `certificate ${who} expired at ${certificate.notAfter.toISOString()}`;
  if (certificate.unknownCritical.length > 0) return `certificate ${who} has an unsupported critical extension ${certificate.unknownCritical[0]}`;
  if (asIssuer && (!certificate.isCa || certificate.cannotSignCertificates)) return `certificate ${who} is not a CA`;
  return null;
}

async function issuerAmong(child: Certificate, candidates: Certificate[]): Promise<Certificate | null> {
  if (!child.scheme) return null;
  for (const candidate of candidates) {
    if (!sameBytes(candidate.subjectDer, child.issuerDer)) continue;
    if (await candidate.publicKey.verify(child.scheme, child.signature, child.tbs)) return candidate;
  }
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
