/**
 * Public keys (from a SubjectPublicKeyInfo) and signature checks with WebCrypto only: ECDSA
 * P-256/P-384/P-521, Ed25519, RSA PKCS#1 v1.5 and PSS. WebCrypto takes ECDSA signatures only
 * as IEEE P1363 (r||s); cosign, sigstore and X.509 write ASN.1 DER, which is converted here
 * (passed as is it would simply verify false).
 */
import { at, DerError, expectChildren, oid, parseDer, unsignedInteger } from "./der.ts";
import { sha256Hex } from "./pem.ts";

export type KeyKind = "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ed25519" | "rsa";
export type Hash = "SHA-256" | "SHA-384" | "SHA-512";

/** How a signature was made: the algorithm, its hash, and for ECDSA the signature's encoding. */
export type Scheme =
  | { alg: "ecdsa"; hash: Hash; encoding: "der" | "p1363" }
  | { alg: "ed25519" }
  | { alg: "rsa-pkcs1"; hash: Hash }
  | { alg: "rsa-pss"; hash: Hash; saltLength: number };

const CURVES: Record<string, { kind: KeyKind; curve: string; size: number; hash: Hash }> = {
  "1.2.840.10045.3.1.7": { kind: "ecdsa-p256", curve: "P-256", size: 32, hash: "SHA-256" },
  "1.3.132.0.34": { kind: "ecdsa-p384", curve: "P-384", size: 48, hash: "SHA-384" },
  "1.3.132.0.35": { kind: "ecdsa-p521", curve: "P-521", size: 66, hash: "SHA-512" },
};
const EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const ED25519 = "1.3.101.112";
const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";

export class PublicKey {
  /** imported once per algorithm and hash */
  private readonly imported = new Map<string, Promise<CryptoKey>>();

  private constructor(
    readonly kind: KeyKind,
    readonly spki: Uint8Array,
    /** where it came from (a file name) or what it is, for reports */
    readonly label: string,
  ) {}

  /** @throws DerError when the SubjectPublicKeyInfo is malformed or of another algorithm */
  static fromSpki(spki: Uint8Array, label: string): PublicKey {
    const ids = expectChildren(at(expectChildren(parseDer(spki)), 0));
    const algorithmOid = oid(at(ids, 0));
    if (algorithmOid === ED25519) return new PublicKey("ed25519", spki, label);
    if (algorithmOid === RSA_ENCRYPTION) return new PublicKey("rsa", spki, label);
    if (algorithmOid === EC_PUBLIC_KEY) {
      const curve = CURVES[oid(at(ids, 1))];
      if (curve) return new PublicKey(curve.kind, spki, label);
      throw new DerError("unsupported elliptic curve");
    }
    throw new DerError(`unsupported key algorithm ${algorithmOid}`);
  }

  /** A short fingerprint: sha256 of the SubjectPublicKeyInfo. */
  get fingerprint(): string {
    return `sha256:${sha256Hex(this.spki).slice(0, 16)}`;
  }

  /** The schemes a bare signature by this key may use (cosign keys carry no algorithm name). */
  defaultSchemes(encoding: "der" | "p1363"): Scheme[] {
    if (this.kind === "ed25519") return [{ alg: "ed25519" }];
    if (this.kind === "rsa") return [{ alg: "rsa-pkcs1", hash: "SHA-256" }, { alg: "rsa-pss", hash: "SHA-256", saltLength: 32 }];
    const own = curveOf(this.kind).hash;
    // cosign before 2.3 hashed with SHA-256 whatever the curve
    return own === "SHA-256" ? [{ alg: "ecdsa", hash: own, encoding }] : [{ alg: "ecdsa", hash: own, encoding }, { alg: "ecdsa", hash: "SHA-256", encoding }];
  }

  /** True when `signature` over `data` verifies under `scheme`; false for any mismatch or malformed signature. */
  async verify(scheme: Scheme, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
    if (!fits(this.kind, scheme)) return false;
    let raw = signature;
    if (scheme.alg === "ecdsa" && scheme.encoding === "der") {
      const converted = derToP1363(signature, curveOf(this.kind).size);
      if (!converted) return false;
      raw = converted;
    }
    try {
      const key = await this.cryptoKey(scheme);
      return await crypto.subtle.verify(verifyParams(scheme), key, new Uint8Array(raw), new Uint8Array(data));
    } catch {
      return false;
    }
  }

  private cryptoKey(scheme: Scheme): Promise<CryptoKey> {
    const id = `${scheme.alg}:${"hash" in scheme ? scheme.hash : ""}`;
    let key = this.imported.get(id);
    if (!key) {
      key = crypto.subtle.importKey("spki", new Uint8Array(this.spki), importParams(this.kind, scheme), false, ["verify"]);
      this.imported.set(id, key);
    }
    return key;
  }
}

function curveOf(kind: KeyKind): { curve: string; size: number; hash: Hash } {
  const found = Object.values(CURVES).find((c) => c.kind === kind);
  if (!found) throw new Error(`${kind} is not an elliptic curve key`);
  return found;
}

function fits(kind: KeyKind, scheme: Scheme): boolean {
  if (scheme.alg === "ecdsa") return kind.startsWith("ecdsa-");
  if (scheme.alg === "ed25519") return kind === "ed25519";
  return kind === "rsa";
}

function importParams(kind: KeyKind, scheme: Scheme): AlgorithmIdentifier | EcKeyImportParams | RsaHashedImportParams {
  if (scheme.alg === "ecdsa") return { name: "ECDSA", namedCurve: curveOf(kind).curve };
  if (scheme.alg === "ed25519") return { name: "Ed25519" };
  return { name: scheme.alg === "rsa-pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5", hash: scheme.hash };
}

function verifyParams(scheme: Scheme): AlgorithmIdentifier | EcdsaParams | RsaPssParams {
  if (scheme.alg === "ecdsa") return { name: "ECDSA", hash: scheme.hash };
  if (scheme.alg === "ed25519") return { name: "Ed25519" };
  if (scheme.alg === "rsa-pss") return { name: "RSA-PSS", saltLength: scheme.saltLength };
  return { name: "RSASSA-PKCS1-v1_5" };
}

/**
 * ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } as r||s, each left-padded to the
 * curve's size; null when `der` is not exactly that (a P1363 signature included).
 */
export function derToP1363(der: Uint8Array, size: number): Uint8Array | null {
  try {
    const [r, s, ...rest] = expectChildren(parseDer(der));
    if (!r || !s || rest.length > 0) return null;
    const out = new Uint8Array(size * 2);
    for (const [i, part] of [unsignedInteger(r), unsignedInteger(s)].entries()) {
      if (part.length > size) return null;
      out.set(part, size * (i + 1) - part.length);
    }
    return out;
  } catch (error) {
    if (error instanceof DerError) return null;
    throw error;
  }
}
