/**
 * Pushes signatures in the exact formats cosign, cosign 3 (sigstore bundles) and Notation write,
 * through the v2 API as those clients do; the tests make them since Debian packages neither.
 */
import { type Descriptor, EMPTY_CONFIG_BYTES, EMPTY_DESCRIPTOR, expectStatus, MT, pushBlob, putManifest, serialize, sha256, utf8 } from "../../helpers/oci.ts";
import { signDer, type TestCertificate, type TestKey } from "./keys.ts";

export const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
export const COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json";
export const BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const NOTARY = "application/vnd.cncf.notary.signature";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** cosign's simple-signing payload for `reference` (host/repo[:tag]) and `digest`. */
export function cosignPayload(reference: string, digest: string): Uint8Array {
  return utf8(JSON.stringify({ critical: { identity: { "docker-reference": reference }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" }, optional: null }));
}

/** One signature layer: its payload and the annotations cosign writes. */
export interface CosignLayer {
  payload: Uint8Array;
  signature: Uint8Array;
  certificatePem?: string;
}

/** Signs `payload` with `key` (DER for ECDSA, as cosign writes it). */
export async function cosignLayer(key: TestKey, payload: Uint8Array): Promise<CosignLayer> {
  return { payload, signature: await signDer(key, payload) };
}

async function layerDescriptors(base: string, repo: string, layers: CosignLayer[]): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  for (const layer of layers) {
    const blob = await pushBlob(base, repo, new Uint8Array(layer.payload));
    const annotations: Record<string, string> = { "dev.cosignproject.cosign/signature": b64(layer.signature) };
    if (layer.certificatePem) annotations["dev.sigstore.cosign/certificate"] = layer.certificatePem;
    out.push({ mediaType: SIMPLE_SIGNING, digest: blob.digest, size: blob.size, annotations });
  }
  return out;
}

/** The tag scheme: `sha256-<hex>.sig` with one layer per signature. @returns the signature manifest's digest */
export async function pushCosignTag(base: string, repo: string, digest: string, layers: CosignLayer[]): Promise<string> {
  const descriptors = await layerDescriptors(base, repo, layers);
  const config = utf8(JSON.stringify({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: descriptors.map((d) => d.digest) } }));
  const configBlob = await pushBlob(base, repo, config);
  const bytes = serialize({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: configBlob.digest, size: configBlob.size }, layers: descriptors });
  expectStatus(await putManifest(base, repo, `${digest.replace(":", "-")}.sig`, bytes, MT.ociManifest), 201);
  return sha256(bytes);
}

async function pushReferrer(base: string, repo: string, subject: Descriptor, artifactType: string, layers: Descriptor[]): Promise<string> {
  await pushBlob(base, repo, EMPTY_CONFIG_BYTES);
  const bytes = serialize({ schemaVersion: 2, mediaType: MT.ociManifest, artifactType, config: EMPTY_DESCRIPTOR, layers, subject });
  const digest = sha256(bytes);
  expectStatus(await putManifest(base, repo, digest, bytes, MT.ociManifest), 201);
  return digest;
}

/** cosign's OCI 1.1 referrer form: the same layers, artifactType cosign sig, a subject. */
export async function pushCosignReferrer(base: string, repo: string, subject: Descriptor, layers: CosignLayer[]): Promise<string> {
  return pushReferrer(base, repo, subject, COSIGN_ARTIFACT, await layerDescriptors(base, repo, layers));
}

/** DSSE's pre-authentication encoding. */
function pae(type: string, payload: Uint8Array): Uint8Array {
  const head = utf8(`DSSEv1 ${utf8(type).length} ${type} ${payload.length} `);
  return Uint8Array.of(...head, ...payload);
}

/** A cosign 3 bundle: DSSE envelope over an in-toto statement naming `subject`, key-signed. */
export async function pushBundle(base: string, repo: string, subject: Descriptor, key: TestKey, options: { statementDigest?: string; name?: string } = {}): Promise<string> {
  const statement = utf8(JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: options.name ?? `registry.example.com/${repo}`, digest: { sha256: (options.statementDigest ?? subject.digest).slice("sha256:".length) } }],
    predicateType: "https://sigstore.dev/cosign/sign/v1",
    predicate: {},
  }));
  const type = "application/vnd.in-toto+json";
  const signature = await signDer(key, pae(type, statement));
  const bundle = utf8(JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { publicKey: { hint: "test-key" } },
    dsseEnvelope: { payload: b64(statement), payloadType: type, signatures: [{ sig: b64(signature), keyid: "" }] },
  }));
  const blob = await pushBlob(base, repo, bundle);
  return pushReferrer(base, repo, subject, BUNDLE, [{ mediaType: BUNDLE, digest: blob.digest, size: blob.size }]);
}

/** A Notation JWS envelope (notary.x509) naming `subject`, signed by the certificate's key with x5c = [leaf, CA]. */
export async function pushNotation(base: string, repo: string, subject: Descriptor, certificate: TestCertificate, options: { targetDigest?: string } = {}): Promise<string> {
  const alg = certificate.kind === "rsa" ? "PS256" : "ES256";
  const header = b64url(utf8(JSON.stringify({
    alg,
    crit: ["io.cncf.notary.signingScheme"],
    cty: "application/vnd.cncf.notary.payload.v1+json",
    "io.cncf.notary.signingScheme": "notary.x509",
    "io.cncf.notary.signingTime": new Date().toISOString(),
  })));
  const payload = b64url(utf8(JSON.stringify({ targetArtifact: { ...subject, digest: options.targetDigest ?? subject.digest } })));
  const params = certificate.kind === "rsa" ? { name: "RSA-PSS", saltLength: 32 } : { name: "ECDSA", hash: "SHA-256" };
  const signature = new Uint8Array(await crypto.subtle.sign(params, certificate.privateKey, utf8(`${header}.${payload}`)));
  const x5c = [certificate.leafPem, certificate.caPem].map((text) => text.replace(/-----[A-Z ]+-----|\s/g, ""));
  const jws = utf8(JSON.stringify({ payload, protected: header, header: { x5c, "io.cncf.notary.signingAgent": "berth-tests" }, signature: b64url(signature) }));
  const blob = await pushBlob(base, repo, jws);
  return pushReferrer(base, repo, subject, NOTARY, [{ mediaType: "application/jose+json", digest: blob.digest, size: blob.size }]);
}
