/**
 * Sigstore bundles (cosign 3: a referrer of artifactType
 * application/vnd.dev.sigstore.bundle.v0.3+json whose layer is the bundle JSON). Verified here:
 * a key- or certificate-based `messageSignature` over this manifest's bytes, or a
 * `dsseEnvelope` whose payload (an in-toto statement, or cosign's simple-signing payload)
 * names this manifest. Transparency-log entries and timestamps are not checked.
 */
import { checkCosignPayload, checkInTotoStatement, parseJson } from "../payload.ts";
import { base64Bytes } from "../pem.ts";
import { refused, type Subject, type Trust, type Verdict } from "../report.ts";
import { findSigner } from "../signer.ts";
import { SIMPLE_SIGNING } from "./cosign.ts";

export const BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle";
const IN_TOTO = "application/vnd.in-toto+json";

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function bytesOf(value: unknown): Uint8Array | null {
  return typeof value === "string" ? base64Bytes(value) : null;
}

/** The certificates of `verificationMaterial` (v0.3 `certificate`, older `x509CertificateChain`), leaf first. */
function certificatesOf(material: Json): Uint8Array[] {
  const single = bytesOf(object(material.certificate).rawBytes);
  if (single) return [single];
  const chain = object(material.x509CertificateChain).certificates;
  return Array.isArray(chain) ? chain.flatMap((entry) => bytesOf(object(entry).rawBytes) ?? []) : [];
}

/** DSSE's pre-authentication encoding: what the envelope's signatures sign. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

export async function verifyBundle(blob: Uint8Array, subject: Subject, trust: Trust, now: Date): Promise<Verdict> {
  const bundle = object(parseJson(blob));
  if (typeof bundle.mediaType !== "string" || !bundle.mediaType.startsWith(BUNDLE_PREFIX)) return refused("the layer is not a sigstore bundle");
  const certificates = certificatesOf(object(bundle.verificationMaterial));
  const message = object(bundle.messageSignature);
  if (Object.keys(message).length > 0) {
    const signature = bytesOf(message.signature);
    if (!signature) return refused("the message signature is not base64");
    const signer = await findSigner(trust, { signature, data: subject.bytes, encoding: "der", certificates }, now);
    if (!signer.verified) return signer;
    const digest = object(message.messageDigest);
    const named = bytesOf(digest.digest);
    const hex = named ? Array.from(named, (b) => b.toString(16).padStart(2, "0")).join("") : "";
    if (digest.algorithm !== "SHA2_256" || `sha256:${hex}` !== subject.digest) return refused("the message digest is not this manifest's", signer.signer);
    return signer;
  }
  const envelope = object(bundle.dsseEnvelope);
  const payload = bytesOf(envelope.payload);
  const payloadType = envelope.payloadType;
  if (!payload || typeof payloadType !== "string") return refused("the bundle has neither a message signature nor a DSSE envelope");
  const data = preAuthEncoding(payloadType, payload);
  let last = refused("the DSSE envelope has no signature");
  for (const entry of Array.isArray(envelope.signatures) ? envelope.signatures : []) {
    const signature = bytesOf(object(entry).sig);
    if (!signature) continue;
    last = await findSigner(trust, { signature, data, encoding: "der", certificates }, now);
    if (last.verified) break;
  }
  if (!last.verified) return last;
  const problem =
    payloadType === IN_TOTO ? checkInTotoStatement(payload, subject)
    : payloadType === SIMPLE_SIGNING ? checkCosignPayload(payload, subject)
    : `unsupported DSSE payload type ${payloadType}`;
  return problem ? refused(problem, last.signer) : last;
}
