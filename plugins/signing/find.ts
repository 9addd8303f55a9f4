/**
 * Finds a manifest's signatures in its repository and verifies each: cosign's
 * `sha256-<hex>.sig` tag, and OCI 1.1 referrers (cosign signature artifacts, sigstore bundles,
 * Notation). A signature manifest is immutable, so its verdicts are cached by (manifest,
 * signature manifest); the caller drops the cache when the policy changes.
 */
import type { RegistryReader } from "../../src/hooks/types.ts";
import { type BlobReader, layersOf, SIMPLE_SIGNING, verifyCosignLayer } from "./formats/cosign.ts";
import { BUNDLE_PREFIX, verifyBundle } from "./formats/bundle.ts";
import { NOTARY_SIGNATURE, verifyNotation } from "./formats/notation.ts";
import { parseJson } from "./payload.ts";
import { sha256Hex } from "./pem.ts";
import type { Format, SignatureReport, Subject, Trust, Verdict } from "./report.ts";

export const COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json";
const DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json";
/** signature blobs are small: a payload, an envelope, a bundle with a certificate chain */
const MAX_SIGNATURE_BLOB = 256 * 1024;
const MAX_REFERRERS = 32;
const MAX_LAYERS = 16;
const MAX_CACHED = 20_000;

/** `sha256-<hex>.sig`, the tag cosign writes beside an image. */
export function cosignTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

const IMAGE_CONFIGS = new Set(["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"]);

/**
 * Signatures, attestations and other artifacts no container runtime runs: always served, never
 * required to be signed. Judged by content, not by tag or `subject` (either could dress up a
 * runnable image): a config that is not an image config, or layers that are all signatures.
 */
export function isSignatureArtifact(manifest: unknown): boolean {
  if (typeof manifest !== "object" || manifest === null) return false;
  const config = "config" in manifest && typeof manifest.config === "object" && manifest.config !== null && "mediaType" in manifest.config ? manifest.config.mediaType : undefined;
  if (typeof config === "string" && !IMAGE_CONFIGS.has(config)) return true;
  const layers = layersOf(manifest);
  return layers.length > 0 && layers.every((layer) => layer.mediaType === SIMPLE_SIGNING || layer.mediaType === DSSE_ENVELOPE);
}

export class SignatureFinder {
  private verdicts = new Map<string, SignatureReport[]>();

  constructor(private readonly reader: RegistryReader) {}

  /** Forgets every verdict (the trusted keys or roots changed). */
  forget(): void {
    this.verdicts = new Map();
  }

  async reports(subject: Subject, trust: Trust): Promise<SignatureReport[]> {
    const out: SignatureReport[] = [];
    const tagged = await this.reader.manifest(subject.repository, cosignTag(subject.digest));
    if (tagged) out.push(...(await this.verdictsOf(subject, trust, tagged.digest, "tag", parseJson(tagged.bytes))));
    const facts = await this.reader.manifestFacts(subject.repository, subject.digest);
    for (const referrer of (facts?.referrers ?? []).slice(0, MAX_REFERRERS)) {
      const type = referrer.artifactType ?? "";
      if (type !== COSIGN_ARTIFACT && type !== NOTARY_SIGNATURE && !type.startsWith(BUNDLE_PREFIX)) continue;
      const manifest = await this.reader.manifest(subject.repository, referrer.digest);
      if (manifest) out.push(...(await this.verdictsOf(subject, trust, manifest.digest, "referrer", parseJson(manifest.bytes), type)));
    }
    return out;
  }

  private async verdictsOf(subject: Subject, trust: Trust, manifest: string, via: "tag" | "referrer", json: unknown, artifactType = COSIGN_ARTIFACT): Promise<SignatureReport[]> {
    const key = `${subject.repository}@${subject.digest}|${manifest}`;
    const known = this.verdicts.get(key);
    if (known) return known;
    const now = new Date();
    const readBlob = this.blobReader(subject.repository);
    const reports: SignatureReport[] = [];
    for (const [layer, descriptor] of layersOf(json).slice(0, MAX_LAYERS).entries()) {
      let format: Format = "cosign";
      let verdict: Verdict | null = null;
      if (artifactType === NOTARY_SIGNATURE) {
        format = "notation";
        const blob = await readBlob(descriptor.digest);
        verdict = blob ? await verifyNotation(descriptor.mediaType, blob, subject, trust, now) : missing(descriptor.digest);
      } else if (artifactType.startsWith(BUNDLE_PREFIX) || descriptor.mediaType.startsWith(BUNDLE_PREFIX)) {
        format = "sigstore-bundle";
        const blob = await readBlob(descriptor.digest);
        verdict = blob ? await verifyBundle(blob, subject, trust, now) : missing(descriptor.digest);
      } else if (descriptor.mediaType === SIMPLE_SIGNING) {
        verdict = await verifyCosignLayer(descriptor, subject, trust, readBlob, now);
      }
      if (verdict) reports.push({ format, manifest, via, layer, verified: verdict.verified, signer: verdict.signer, reason: verdict.verified ? "" : verdict.reason });
    }
    if (this.verdicts.size >= MAX_CACHED) this.verdicts = new Map();
    this.verdicts.set(key, reports);
    return reports;
  }

  /** Reads a signature blob of the repository, bounded, and checks its digest. */
  private blobReader(repository: string): BlobReader {
    return async (digest) => {
      if (!digest.startsWith("sha256:")) return null;
      const bytes = await this.reader.blob(repository, digest, MAX_SIGNATURE_BLOB);
      return bytes && `sha256:${sha256Hex(bytes)}` === digest ? bytes : null;
    };
  }
}

function missing(digest: string): Verdict {
  return { verified: false, signer: "", reason: `the signature blob ${digest} is missing or too large` };
}
