/**
 * Test keys and certificates for the signing plugin: key pairs made with WebCrypto, a CA and
 * leaf certificates made with openssl, and signatures in the encodings each format uses.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exec } from "../../helpers/docker.ts";

export type Kind = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa";

export interface TestKey {
  kind: Kind;
  privateKey: CryptoKey;
  publicPem: string;
}

const b64 = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString("base64");

export function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  return `-----BEGIN ${label}-----\n${b64(der).replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END ${label}-----\n`;
}

export async function makeKey(kind: Kind = "ecdsa-p256"): Promise<TestKey> {
  const algorithm =
    kind === "ed25519" ? { name: "Ed25519" }
    : kind === "rsa" ? { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
    : { name: "ECDSA", namedCurve: kind === "ecdsa-p384" ? "P-384" : "P-256" };
  const pair = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  return { kind, privateKey: pair.privateKey, publicPem: pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", pair.publicKey)) };
}

/** A raw signature: ECDSA as WebCrypto makes it (P1363 r||s), Ed25519, RSA PKCS#1 v1.5. */
export async function signRaw(key: TestKey, data: Uint8Array): Promise<Uint8Array> {
  const params =
    key.kind === "ed25519" ? { name: "Ed25519" }
    : key.kind === "rsa" ? { name: "RSASSA-PKCS1-v1_5" }
    : { name: "ECDSA", hash: key.kind === "ecdsa-p384" ? "SHA-384" : "SHA-256" };
  return new Uint8Array(await crypto.subtle.sign(params, key.privateKey, new Uint8Array(data)));
}

/** As cosign and sigstore write it: ECDSA in ASN.1 DER, the others raw. */
export async function signDer(key: TestKey, data: Uint8Array): Promise<Uint8Array> {
  const raw = await signRaw(key, data);
  return key.kind.startsWith("ecdsa") ? p1363ToDer(raw) : raw;
}

/** r||s as ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }. */
export function p1363ToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const integer = (part: Uint8Array) => {
    let start = 0;
    while (start < part.length - 1 && part[start] === 0) start++;
    const body = part.subarray(start);
    const padded = (body[0] as number) & 0x80 ? Uint8Array.of(0, ...body) : body;
    return Uint8Array.of(0x02, padded.length, ...padded);
  };
  const r = integer(raw.subarray(0, half));
  const s = integer(raw.subarray(half));
  const length = r.length + s.length;
  return Uint8Array.of(0x30, ...(length >= 0x80 ? [0x81, length] : [length]), ...r, ...s);
}

export interface TestCertificate {
  /** the leaf's key, imported for signing */
  privateKey: CryptoKey;
  kind: "ecdsa-p256" | "rsa";
  leafPem: string;
  caPem: string;
  /** the CA's certificate file */
  caFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await exec(["openssl", ...args], { cwd, timeoutMs: 30_000 });
}

/**
 * A CA (ECDSA P-256) and a leaf signed by it, made with openssl in `dir`: the leaf has the
 * subject `/O=Example/CN=<name>`, SAN URI and email, and an ECDSA P-256 or RSA 2048 key.
 */
export async function makeCertificate(dir: string, name: string, leafKind: "ecdsa-p256" | "rsa", options: { uri?: string; email?: string } = {}): Promise<TestCertificate> {
  const ca = `${name}-ca`;
  await openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.pem`, "-days", "30", "-subj", `/CN=${name} test CA`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  const keyArgs = leafKind === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await openssl(["req", ...keyArgs, "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/O=Example/CN=${name}`], dir);
  const san = [`URI:${options.uri ?? `https://ci.example.com/${name}`}`, `email:${options.email ?? `${name}@example.com`}`].join(",");
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=${san}\n`);
  await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "7", "-extfile", `${name}.ext`], dir);
  const pkcs8 = readFileSync(join(dir, `${name}.key`), "utf8").replace(/-----[A-Z ]+-----|\s/g, "");
  const algorithm = leafKind === "rsa" ? { name: "RSA-PSS", hash: "SHA-256" } : { name: "ECDSA", namedCurve: "P-256" };
  const privateKey = await crypto.subtle.importKey("pkcs8", Buffer.from(pkcs8, "base64"), algorithm, false, ["sign"]);
  return { privateKey, kind: leafKind, leafPem: readFileSync(join(dir, `${name}.pem`), "utf8"), caPem: readFileSync(join(dir, `${ca}.pem`), "utf8"), caFile: join(dir, `${ca}.pem`) };
}

/** The DER of the first certificate in `pemText`. */
export function derOf(pemText: string): Uint8Array {
  return Buffer.from(pemText.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
}
