/**
 * Notation signatures: a referrer of artifactType application/vnd.cncf.notary.signature whose
 * layer (application/jose+json) is a JWS in JSON serialisation. The protected header names the
 * algorithm (PS256/384/512, ES256/384/512) and the payload type; the unprotected header's x5c
 * is the chain, leaf first, checked against the policy's roots. COSE envelopes are reported
 * as unsupported; the signing-authority scheme (which needs a timestamp) too.
 */
import { checkNotaryPayload, parseJson } from "../payload.ts";
import { base64Bytes } from "../pem.ts";
import type { Scheme } from "../keys.ts";
import { refused, type Subject, type Trust, type Verdict } from "../report.ts";
import { findSigner } from "../signer.ts";

export const NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature";
export const JWS = "application/jose+json";
const PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json";
const UNDERSTOOD_CRITICAL = new Set(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry", "io.cncf.notary.authenticSigningTime"]);

const ALGORITHMS: Record<string, Scheme> = {
  PS256: { alg: "rsa-pss", hash: "SHA-256", saltLength: 32 },
  PS384: { alg: "rsa-pss", hash: "SHA-384", saltLength: 48 },
  PS512: { alg: "rsa-pss", hash: "SHA-512", saltLength: 64 },
  ES256: { alg: "ecdsa", hash: "SHA-256", encoding: "p1363" },
  ES384: { alg: "ecdsa", hash: "SHA-384", encoding: "p1363" },
  ES512: { alg: "ecdsa", hash: "SHA-512", encoding: "p1363" },
};

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export async function verifyNotation(mediaType: string, blob: Uint8Array, subject: Subject, trust: Trust, now: Date): Promise<Verdict> {
  if (mediaType !== JWS) return refused(`unsupported Notation envelope ${mediaType} (only ${JWS})`);
  const jws = object(parseJson(blob));
  const { protected: protectedText, payload: payloadText, signature: signatureText } = jws;
  if (typeof protectedText !== "string" || typeof payloadText !== "string" || typeof signatureText !== "string") return refused("the envelope is not a JWS in JSON serialisation");
  const header = object(parseJson(base64Bytes(protectedText) ?? new Uint8Array()));
  const scheme = typeof header.alg === "string" ? ALGORITHMS[header.alg] : undefined;
  if (!scheme) return refused(`unsupported JWS algorithm ${JSON.stringify(header.alg)}`);
  if (header.cty !== PAYLOAD_TYPE) return refused(`the payload type is ${JSON.stringify(header.cty)}, not ${PAYLOAD_TYPE}`);
  if (header["io.cncf.notary.signingScheme"] !== "notary.x509") return refused(`unsupported signing scheme ${JSON.stringify(header["io.cncf.notary.signingScheme"])}`);
  const critical = Array.isArray(header.crit) ? header.crit : [];
  const unknown = critical.find((name) => typeof name !== "string" || !UNDERSTOOD_CRITICAL.has(name));
  if (unknown !== undefined) return refused(`unsupported critical header ${JSON.stringify(unknown)}`);
  const expiry = header["io.cncf.notary.expiry"];
  if (typeof expiry === "string" && !(Date.parse(expiry) > now.getTime())) return refused(`the signature expired at ${expiry}`);
  const signature = base64Bytes(signatureText);
  const payload = base64Bytes(payloadText);
  if (!signature || !payload) return refused("the signature or payload is not base64url");
  const x5c = object(jws.header).x5c;
  const certificates = Array.isArray(x5c) ? x5c.flatMap((entry) => (typeof entry === "string" ? (base64Bytes(entry) ?? []) : [])) : [];
  if (certificates.length === 0) return refused("the envelope has no x5c certificate chain");
  const data = new TextEncoder().encode(`${protectedText}.${payloadText}`);
  const signer = await findSigner(trust, { signature, data, encoding: "p1363", certificates, scheme }, now);
  if (!signer.verified) return signer;
  const problem = checkNotaryPayload(payload, subject);
  return problem ? refused(problem, signer.signer) : signer;
}
