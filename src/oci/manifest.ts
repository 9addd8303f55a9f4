/**
 * Parses and validates manifest bytes: Docker schema 2 and manifest lists, OCI image
 * manifests (including artifacts) and OCI indexes. Schema 1 is refused.
 */
import { RegistryError } from "./errors.ts";
import { parseDigest } from "./digest.ts";
import {
  bareMediaType,
  isIndexMediaType,
  isManifestMediaType,
  MediaType,
  type ManifestMediaType,
} from "./media-types.ts";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ParsedManifest {
  mediaType: ManifestMediaType;
  /** config and layers: blobs that must be in the repository */
  blobs: Descriptor[];
  /** child manifests of an index: must be in the repository */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** artifactType, or for an image manifest without one, its config media type (OCI 1.1) */
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function invalid(message: string): RegistryError {
  return new RegistryError("MANIFEST_INVALID", { message });
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseAnnotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw invalid(`${where}.annotations must be an object of strings`);
  }
  return value as Record<string, string>;
}

export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== "string" || mediaType === "") throw invalid(`${where}.mediaType must be a string`);
  if (typeof digest !== "string") throw invalid(`${where}.digest must be a string`);
  try {
    parseDigest(digest);
  } catch {
    throw invalid(`${where}.digest "${digest}" is not a valid digest`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  const descriptor: Descriptor = { mediaType, digest, size };
  if (typeof value.artifactType === "string") descriptor.artifactType = value.artifactType;
  const annotations = parseAnnotations(value.annotations, where);
  if (annotations) descriptor.annotations = annotations;
  if (Array.isArray(value.urls)) descriptor.urls = value.urls.filter((u): u is string => typeof u === "string");
  if (isObject(value.platform)) descriptor.platform = value.platform as NonNullable<Descriptor["platform"]>;
  return descriptor;
}

function parseDescriptorList(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`);
  return value.map((item, i) => parseDescriptor(item, `${where}[${i}]`));
}

/** Chooses the manifest type from the Content-Type header and the body's mediaType field. */
function resolveMediaType(contentType: string, body: Json): ManifestMediaType {
  const header = bareMediaType(contentType);
  const field = body.mediaType;
  if (header === MediaType.DockerSchema1 || header === MediaType.DockerSchema1Signed) {
    throw invalid("Docker schema 1 manifests are not supported; push with a current client (schema 2 or OCI)");
  }
  if (field !== undefined && typeof field !== "string") throw invalid("mediaType must be a string");
  if (typeof field === "string" && !isManifestMediaType(field)) {
    throw invalid(`Unsupported manifest mediaType "${field}"`);
  }
  const headerIsGeneric = header === "" || header === "application/json" || header === "application/octet-stream";
  if (!headerIsGeneric && !isManifestMediaType(header)) {
    throw invalid(`Unsupported manifest Content-Type "${header}"`);
  }
  if (!headerIsGeneric && field !== undefined && field !== header) {
    throw invalid(`Content-Type "${header}" does not match the manifest's mediaType "${field}"`);
  }
  if (field !== undefined) return field;
  if (header === MediaType.DockerManifest || header === MediaType.DockerManifestList) {
    // as Distribution requires: without it, the stored bytes would later read as OCI
    throw invalid(`A manifest pushed as "${header}" must carry that mediaType field`);
  }
  if (!headerIsGeneric) return header as ManifestMediaType;
  // OCI allows omitting mediaType: an index has `manifests`, an image manifest `config`.
  if ("manifests" in body) return MediaType.OciIndex;
  if ("config" in body) return MediaType.OciManifest;
  throw invalid("Cannot tell the manifest type: no mediaType, config or manifests");
}

/**
 * Validates manifest bytes as received.
 * @throws RegistryError MANIFEST_INVALID with a message naming the offending field.
 */
export function parseManifest(bytes: Uint8Array, contentType: string): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw invalid(`Manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(body)) throw invalid("Manifest must be a JSON object");
  if (body.schemaVersion === 1) {
    throw invalid("Docker schema 1 manifests are not supported; push with a current client (schema 2 or OCI)");
  }
  if (body.schemaVersion !== 2) throw invalid("schemaVersion must be 2");
  const mediaType = resolveMediaType(contentType, body);
  const parsed: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  if (isIndexMediaType(mediaType)) {
    if ("config" in body || "layers" in body) throw invalid("An index must not have config or layers");
    parsed.manifests = parseDescriptorList(body.manifests, "manifests");
  } else {
    if ("manifests" in body) throw invalid("An image manifest must not have manifests");
    const config = parseDescriptor(body.config, "config");
    const layers = parseDescriptorList(body.layers, "layers");
    if (mediaType === MediaType.DockerManifest && layers.length === 0) {
      throw invalid("A Docker schema 2 manifest needs at least one layer");
    }
    parsed.blobs = [config, ...layers];
    parsed.artifactType = typeof body.artifactType === "string" ? body.artifactType : config.mediaType;
  }
  if (body.artifactType !== undefined && typeof body.artifactType !== "string") throw invalid("artifactType must be a string");
  if (typeof body.artifactType === "string") parsed.artifactType = body.artifactType;
  if (body.subject !== undefined) parsed.subject = parseDescriptor(body.subject, "subject");
  const annotations = parseAnnotations(body.annotations, "manifest");
  if (annotations) parsed.annotations = annotations;
  return parsed;
}
