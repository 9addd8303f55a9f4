/** Media types the registry stores as manifests. */
export const MediaType = {
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciIndex: "application/vnd.oci.image.index.v1+json",
  DockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  DockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

export type ManifestMediaType =
  | typeof MediaType.DockerManifest
  | typeof MediaType.DockerManifestList
  | typeof MediaType.OciManifest
  | typeof MediaType.OciIndex;

export const MANIFEST_MEDIA_TYPES: readonly ManifestMediaType[] = [
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.OciIndex,
];

export function isManifestMediaType(value: string): value is ManifestMediaType {
  return (MANIFEST_MEDIA_TYPES as readonly string[]).includes(value);
}

export function isIndexMediaType(value: string): boolean {
  return value === MediaType.DockerManifestList || value === MediaType.OciIndex;
}

/** Layers a registry is not expected to hold (Windows base layers); they carry `urls`. */
export function isForeignLayer(mediaType: string): boolean {
  return mediaType.includes("foreign") || mediaType.includes("nondistributable");
}

/** The type part of a Content-Type or Accept entry, lowercased, without parameters. */
export function bareMediaType(value: string): string {
  return (value.split(";")[0] ?? "").trim().toLowerCase();
}
