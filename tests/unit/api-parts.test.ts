import { describe, expect, test } from "bun:test";
import { errorResponse, HTTP_STATUS } from "../../src/api/errors.ts";
import { RegistryError } from "../../src/oci/errors.ts";
import { parseByteRange, parseContentRange } from "../../src/api/range.ts";
import { parseRoute } from "../../src/api/route.ts";

describe("routes", () => {
  test("names with slashes and resource words parse from the end", () => {
    expect(parseRoute("/v2/")).toEqual({ kind: "base" });
    expect(parseRoute("/v2/_catalog")).toEqual({ kind: "catalog" });
    expect(parseRoute("/v2/a/b/c/tags/list")).toEqual({ kind: "tags", name: "a/b/c" });
    expect(parseRoute("/v2/a/manifests/b/manifests/latest")).toEqual({ kind: "manifest", name: "a/manifests/b", reference: "latest" });
    expect(parseRoute("/v2/x/blobs/uploads/")).toEqual({ kind: "uploads", name: "x" });
    expect(parseRoute("/v2/x/y/blobs/uploads/abc")).toEqual({ kind: "upload", name: "x/y", id: "abc" });
    expect(parseRoute("/v2/x/blobs/sha256:00")).toEqual({ kind: "blob", name: "x", digest: "sha256:00" });
    expect(parseRoute("/v2/x/referrers/sha256:00")).toEqual({ kind: "referrers", name: "x", digest: "sha256:00" });
    expect(parseRoute("/v2/x/unknown")).toBeNull();
    expect(parseRoute("/other")).toBeNull();
  });
});

describe("ranges", () => {
  test("single byte ranges", () => {
    expect(parseByteRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseByteRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseByteRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseByteRange("bytes=50-500", 100)).toEqual({ start: 50, end: 99 });
    expect(parseByteRange("bytes=100-", 100)).toBe("unsatisfiable");
    expect(parseByteRange("bytes=9-3", 100)).toBe("unsatisfiable");
    expect(parseByteRange("bytes=0-1,5-6", 100)).toBeNull();
    expect(parseByteRange("garbage", 100)).toBeNull();
    expect(parseByteRange(null, 100)).toBeNull();
  });
  test("upload Content-Range", () => {
    expect(parseContentRange("0-99")).toEqual({ start: 0, end: 99 });
    expect(parseContentRange("bytes 100-199/*")).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(null)).toBeNull();
    for (const bad of ["x", "5-1", "-1-3", "1-", "99999999999999999999-1"]) {
      expect(() => parseContentRange(bad)).toThrow(RegistryError);
    }
  });
});

describe("error table", () => {
  test("every spec code has the spec's status", () => {
    const expected: Record<string, number> = {
      BLOB_UNKNOWN: 404, BLOB_UPLOAD_INVALID: 400, BLOB_UPLOAD_UNKNOWN: 404, DIGEST_INVALID: 400,
      MANIFEST_BLOB_UNKNOWN: 400, MANIFEST_INVALID: 400, MANIFEST_UNKNOWN: 404, NAME_INVALID: 400,
      NAME_UNKNOWN: 404, SIZE_INVALID: 400, UNAUTHORIZED: 401, DENIED: 403, UNSUPPORTED: 405,
      TOOMANYREQUESTS: 429, RANGE_INVALID: 416,
    };
    for (const [code, status] of Object.entries(expected)) {
      expect(HTTP_STATUS[code as keyof typeof HTTP_STATUS] as number).toBe(status);
    }
  });
  test("the envelope carries code, message and detail; HEAD has no body", async () => {
    const error = new RegistryError("BLOB_UNKNOWN", { detail: { digest: "sha256:x" } });
    const response = errorResponse(error, "GET");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ errors: [{ code: "BLOB_UNKNOWN", message: "Blob unknown to registry", detail: { digest: "sha256:x" } }] });
    expect(await errorResponse(error, "HEAD").text()).toBe("");
  });
});
