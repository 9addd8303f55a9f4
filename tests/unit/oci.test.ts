import { describe, expect, test } from "bun:test";
import { RegistryError } from "../../src/oci/errors.ts";
import { digestOf, formatDigest, parseDigest } from "../../src/oci/digest.ts";
import { parseManifest } from "../../src/oci/manifest.ts";
import { MediaType } from "../../src/oci/media-types.ts";
import { assertRepositoryName, assertTag } from "../../src/oci/name.ts";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof RegistryError) return error.code;
    throw error;
  }
  return "none";
}

describe("repository names", () => {
  test.each(["a", "library/busybox", "myhub/nginx", "a/b/c/d", "a.b_c__d-e--f", "0/9"])("accepts %p", (name) => {
    expect(codeOf(() => assertRepositoryName(name))).toBe("none");
  });
  test.each(["", "A", "../x", "a/../b", "a//b", "/a", "a/", "-x", "a-", "a/_layers", "%2e%2e/x", "a%2fb", "a b", "a..b", "a___b", "a/./b"])(
    "refuses %p with NAME_INVALID",
    (name) => {
      expect(codeOf(() => assertRepositoryName(name))).toBe("NAME_INVALID");
    },
  );
  test("refuses names over 255 characters", () => {
    expect(codeOf(() => assertRepositoryName("a".repeat(256)))).toBe("NAME_INVALID");
    expect(codeOf(() => assertRepositoryName("a".repeat(255)))).toBe("none");
  });
});

describe("tags", () => {
  test.each(["latest", "v1.2.3", "_x", "A-b_c.d", "a".repeat(128)])("accepts %p", (tag) => {
    expect(codeOf(() => assertTag(tag))).toBe("none");
  });
  test.each(["", ".x", "-x", "bad:tag", "a/b", "a".repeat(129), "é"])("refuses %p with MANIFEST_INVALID", (tag) => {
    expect(codeOf(() => assertTag(tag))).toBe("MANIFEST_INVALID");
  });
});

describe("digests", () => {
  const hex256 = "a".repeat(64);
  test("parses sha256 and sha512", () => {
    expect(parseDigest(`sha256:${hex256}`)).toEqual({ algorithm: "sha256", hex: hex256 });
    expect(parseDigest(`sha512:${"b".repeat(128)}`).algorithm).toBe("sha512");
  });
  test.each([
    "sha256:" + "a".repeat(63),
    "sha256:" + "A".repeat(64),
    "sha256:../../etc",
    "md5:" + "a".repeat(32),
    "sha512:" + "a".repeat(64),
    "sha256",
    "",
    "sha256:" + "g".repeat(64),
  ])("refuses %p with DIGEST_INVALID", (value) => {
    expect(codeOf(() => parseDigest(value))).toBe("DIGEST_INVALID");
  });
  test("digestOf hashes bytes as sha256sum does", () => {
    const digest = digestOf(new TextEncoder().encode("hello\n"));
    expect(formatDigest(digest)).toBe("sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  });
});

describe("manifest validation", () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`;
  const image = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: d("a"), size: 2 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: d("b"), size: 3 }],
  };
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const invalidMessage = (value: unknown, contentType = "") => {
    try {
      parseManifest(typeof value === "string" ? new TextEncoder().encode(value) : bytes(value), contentType);
    } catch (error) {
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe("MANIFEST_INVALID");
      return (error as RegistryError).message;
    }
    throw new Error("expected MANIFEST_INVALID");
  };

  test("an OCI image manifest lists its config and layers as blobs", () => {
    const parsed = parseManifest(bytes(image), MediaType.OciManifest);
    expect(parsed.mediaType).toBe(MediaType.OciManifest);
    expect(parsed.blobs.map((b) => b.digest)).toEqual([d("a"), d("b")]);
    expect(parsed.artifactType).toBe("application/vnd.oci.image.config.v1+json");
  });
  test("the type is inferred when neither header nor body names it", () => {
    const { mediaType: _omit, ...bare } = image;
    expect(parseManifest(bytes(bare), "").mediaType).toBe(MediaType.OciManifest);
    expect(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), "application/json").mediaType).toBe(MediaType.OciIndex);
  });
  test("an artifact's subject and artifactType are read", () => {
    const artifact = { ...image, artifactType: "application/vnd.example.sbom", subject: { mediaType: MediaType.OciManifest, digest: d("c"), size: 9 } };
    const parsed = parseManifest(bytes(artifact), MediaType.OciManifest);
    expect(parsed.subject?.digest).toBe(d("c"));
    expect(parsed.artifactType).toBe("application/vnd.example.sbom");
  });
  test("an index lists child manifests, not blobs", () => {
    const index = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ mediaType: MediaType.DockerManifest, digest: d("e"), size: 5, platform: { os: "linux", architecture: "amd64" } }] };
    const parsed = parseManifest(bytes(index), MediaType.DockerManifestList);
    expect(parsed.manifests).toHaveLength(1);
    expect(parsed.blobs).toHaveLength(0);
  });
  test("schema 1 is refused with a message saying so", () => {
    expect(invalidMessage({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] })).toContain("schema 1");
    expect(invalidMessage(image, MediaType.DockerSchema1Signed)).toContain("schema 1");
  });
  test("malformed JSON, wrong shapes and mismatched types are refused", () => {
    expect(invalidMessage("{not json")).toContain("not valid JSON");
    expect(invalidMessage("[]")).toContain("JSON object");
    expect(invalidMessage({ ...image, schemaVersion: 3 })).toContain("schemaVersion");
    expect(invalidMessage({ ...image, config: { mediaType: "x", digest: "sha256:zz", size: 1 } })).toContain("config.digest");
    expect(invalidMessage({ ...image, layers: [{ mediaType: "x", digest: d("b"), size: -1 }] })).toContain("layers[0].size");
    expect(invalidMessage(image, MediaType.OciIndex)).toContain("does not match");
    expect(invalidMessage(image, "text/plain")).toContain("Content-Type");
    expect(invalidMessage({ ...image, mediaType: MediaType.DockerManifest, layers: [] })).toContain("at least one layer");
  });
});
