/**
 * cosign's signature manifests (the `sha256-<hex>.sig` tag, and the same layers in an OCI 1.1
 * referrer of artifactType application/vnd.dev.cosign.artifact.sig.v1+json): one layer per
 * signature, media type application/vnd.dev.cosign.simplesigning.v1+json; the layer blob is the
 * payload, the annotation dev.cosignproject.cosign/signature the base64 DER signature over its
 * exact bytes, and dev.sigstore.cosign/certificate and /chain an optional PEM chain.
 */
import { checkCosignPayload } from "../payload.ts";
import { base64Bytes, pemBlocks } from "../pem.ts";
import { refused, type Subject, type Trust, type Verdict } from "../report.ts";
import { findSigner } from "../signer.ts";

export const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE = "dev.cosignproject.cosign/signature";
const CERTIFICATE = "dev.sigstore.cosign/certificate";
const CHAIN = "dev.sigstore.cosign/chain";

/** A layer as the manifest lists it. */
export interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

export type BlobReader = (digest: string) => Promise<Uint8Array | null>;

/** The layers of a manifest JSON, those whose shape is usable; the others are skipped. */
export function layersOf(manifest: unknown): LayerDescriptor[] {
  const layers = typeof manifest === "object" && manifest !== null && "layers" in manifest && Array.isArray(manifest.layers) ? manifest.layers : [];
  return layers.flatMap((layer: unknown) => {
    if (typeof layer !== "object" || layer === null) return [];
    const { mediaType, digest, size, annotations } = layer as Record<string, unknown>;
    if (typeof mediaType !== "string" || typeof digest !== "string" || typeof size !== "number") return [];
    const notes: Record<string, string> = {};
    if (typeof annotations === "object" && annotations !== null) {
      for (const [key, value] of Object.entries(annotations)) if (typeof value === "string") notes[key] = value;
    }
    return [{ mediaType, digest, size, annotations: notes }];
  });
}

/** One simple-signing layer's verdict. */
export async function verifyCosignLayer(layer: LayerDescriptor, subject: Subject, trust: Trust, readBlob: BlobReader, now: Date): Promise<Verdict> {
  const encoded = layer.annotations[SIGNATURE];
  if (encoded === undefined) return refused(`the layer has no ${SIGNATURE} annotation`);
  const signature = base64Bytes(encoded);
  if (!signature) return refused("the signature annotation is not base64");
  const payload = await readBlob(layer.digest);
  if (!payload) return refused(`the payload blob ${layer.digest} is missing or too large`);
  const certificates = [layer.annotations[CERTIFICATE], layer.annotations[CHAIN]].flatMap((pem) =>
    pem === undefined ? [] : pemBlocks(pem).filter((block) => block.label === "CERTIFICATE").map((block) => block.der),
  );
  const signer = await findSigner(trust, { signature, data: payload, encoding: "der", certificates }, now);
  if (!signer.verified) return signer;
  const problem = checkCosignPayload(payload, subject);
  return problem ? refused(problem, signer.signer) : signer;
}
