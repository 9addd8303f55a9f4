/** A small OCI image layout on disk, for skopeo to copy from (no network needed). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "./auth.ts";

/** An OCI image layout with one small image tagged v1 (no network needed). */
export function writeLayout(dir: string): { manifestDigest: string } {
  const blobs = join(dir, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Uint8Array | string) => {
    const digest = sha256(bytes);
    writeFileSync(join(blobs, digest.slice(7)), bytes);
    return { digest, size: typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length };
  };
  const config = put(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, nonce: crypto.randomUUID() }));
  // already compressed, so skopeo sends it as it is
  const layer = put(Bun.gzipSync(new TextEncoder().encode(`layer ${crypto.randomUUID()}`)));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  });
  const m = put(manifest);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": "v1" } }],
    }),
  );
  return { manifestDigest: m.digest };
}

