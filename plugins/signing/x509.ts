/**
 * The parts of an X.509 certificate a signature check needs: the signed TBS bytes and its
 * signature algorithm, the subject's key, names (subject, issuer, SAN emails and URIs),
 * validity and whether it may sign certificates. Anything else is not read.
 */
import { at, bitString, children, content, type DerNode, DerError, encoded, expectChildren, oid, parseDer, readNode, TAG, text, time } from "./der.ts";
import { type Hash, PublicKey, type Scheme } from "./keys.ts";

export interface Certificate {
  der: Uint8Array;
  tbs: Uint8Array;
  /** how the issuer signed `tbs`; null for an algorithm this reader does not know */
  scheme: Scheme | null;
  signature: Uint8Array;
  /** the names' DER, compared byte for byte to find an issuer */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  /** "C=US, O=Example, CN=ci" in the certificate's order */
  subject: string;
  issuer: string;
  emails: string[];
  uris: string[];
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** keyUsage present and without keyCertSign */
  cannotSignCertificates: boolean;
  /** critical extensions this reader does not understand (such a certificate must be refused) */
  unknownCritical: string[];
  publicKey: PublicKey;
}

const ATTRIBUTES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.5": "SERIALNUMBER",
  "1.2.840.113549.1.9.1": "E",
};

const HASHES: Record<string, Hash> = {
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};

const SIGNATURE_ALGORITHMS: Record<string, Scheme> = {
  "1.2.840.113549.1.1.11": { alg: "rsa-pkcs1", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { alg: "rsa-pkcs1", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { alg: "rsa-pkcs1", hash: "SHA-512" },
  "1.2.840.10045.4.3.2": { alg: "ecdsa", hash: "SHA-256", encoding: "der" },
  "1.2.840.10045.4.3.3": { alg: "ecdsa", hash: "SHA-384", encoding: "der" },
  "1.2.840.10045.4.3.4": { alg: "ecdsa", hash: "SHA-512", encoding: "der" },
  "1.3.101.112": { alg: "ed25519" },
};
const RSA_PSS = "1.2.840.113549.1.1.10";

const EXTENSION = { basicConstraints: "2.5.29.19", keyUsage: "2.5.29.15", subjectAltName: "2.5.29.17", extKeyUsage: "2.5.29.37" };
const UNDERSTOOD = new Set(Object.values(EXTENSION));

/** @throws DerError when `der` is not a certificate this reader can use */
export function parseCertificate(der: Uint8Array): Certificate {
  const [tbsNode, algorithm, signatureNode] = expectChildren(parseDer(der));
  if (!tbsNode || !algorithm || !signatureNode) throw new DerError("a certificate has three parts");
  const tbs = expectChildren(tbsNode);
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  i++; // serialNumber
  i++; // signature (repeated outside, where it is read)
  const issuer = at(tbs, i++);
  const validity = expectChildren(at(tbs, i++));
  const subject = at(tbs, i++);
  const spki = at(tbs, i++);
  const certificate: Certificate = {
    der,
    tbs: encoded(tbsNode),
    scheme: signatureScheme(algorithm),
    signature: bitString(signatureNode),
    subjectDer: encoded(subject),
    issuerDer: encoded(issuer),
    subject: distinguishedName(subject),
    issuer: distinguishedName(issuer),
    emails: [],
    uris: [],
    notBefore: time(at(validity, 0)),
    notAfter: time(at(validity, 1)),
    isCa: false,
    cannotSignCertificates: false,
    unknownCritical: [],
    publicKey: PublicKey.fromSpki(encoded(spki), `certificate ${distinguishedName(subject)}`),
  };
  const extensions = tbs.slice(i).find((node) => node.tag === 0xa3);
  if (extensions) readExtensions(certificate, at(children(extensions), 0));
  return certificate;
}

function signatureScheme(algorithm: DerNode): Scheme | null {
  const parts = expectChildren(algorithm);
  const id = oid(at(parts, 0));
  if (id !== RSA_PSS) return SIGNATURE_ALGORITHMS[id] ?? null;
  // RSASSA-PSS-params: [0] hash (default SHA-1, refused), [2] salt length (default 20)
  let hash: Hash | undefined;
  let saltLength = 20;
  for (const param of parts[1] ? children(parts[1]) : []) {
    if (param.tag === 0xa0) hash = HASHES[oid(at(expectChildren(at(children(param), 0)), 0))];
    if (param.tag === 0xa2) saltLength = content(at(children(param), 0)).reduce((value, byte) => value * 256 + byte, 0);
  }
  return hash ? { alg: "rsa-pss", hash, saltLength } : null;
}

function distinguishedName(name: DerNode): string {
  const parts: string[] = [];
  for (const rdn of expectChildren(name)) {
    for (const attribute of expectChildren(rdn, TAG.set)) {
      const [type, value] = expectChildren(attribute);
      if (!type || !value) continue;
      const id = oid(type);
      parts.push(`${ATTRIBUTES[id] ?? id}=${text(value)}`);
    }
  }
  return parts.join(", ");
}

function readExtensions(certificate: Certificate, list: DerNode): void {
  for (const extension of expectChildren(list)) {
    const parts = expectChildren(extension);
    const id = oid(at(parts, 0));
    const critical = parts.length === 3 && parts[1]?.tag === TAG.boolean && content(parts[1])[0] !== 0;
    const value = parts[parts.length - 1];
    if (!value || value.tag !== TAG.octetString) throw new DerError("extension without a value");
    const inner = readNode(value.bytes, value.contentStart, value.end);
    if (id === EXTENSION.basicConstraints) {
      const fields = expectChildren(inner);
      certificate.isCa = fields[0]?.tag === TAG.boolean && content(fields[0])[0] !== 0;
    } else if (id === EXTENSION.keyUsage) {
      const bits = content(inner);
      // bit 5 (keyCertSign) of the first byte after the unused-bits count
      certificate.cannotSignCertificates = ((bits[1] ?? 0) & 0x04) === 0;
    } else if (id === EXTENSION.subjectAltName) {
      for (const general of expectChildren(inner)) {
        if (general.tag === 0x81) certificate.emails.push(text(general));
        if (general.tag === 0x86) certificate.uris.push(text(general));
      }
    } else if (critical && !UNDERSTOOD.has(id)) {
      certificate.unknownCritical.push(id);
    }
  }
}
