/** Scope strings of the token spec, and what each /v2/ request needs. */
import { describe, expect, test } from "bun:test";
import { parseRoute } from "../../src/api/route.ts";
import { formatScope, needOf, parseScopes } from "../../src/auth/scope.ts";

describe("parseScopes", () => {
  test("reads type, name and actions; several scopes are separated by spaces", () => {
    expect(parseScopes("repository:samalba/my-app:pull,push registry:catalog:*")).toEqual([
      { type: "repository", name: "samalba/my-app", actions: ["pull", "push"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
  });

  test("a name may hold a host with a port: actions start after the last colon", () => {
    expect(parseScopes("repository:localhost:5000/team/app:pull")).toEqual([{ type: "repository", name: "localhost:5000/team/app", actions: ["pull"] }]);
  });

  test("the deprecated resource class is ignored", () => {
    expect(parseScopes("repository(plugin):team/app:pull")).toEqual([{ type: "repository", name: "team/app", actions: ["pull"] }]);
  });

  test("malformed entries are skipped, not an error", () => {
    expect(parseScopes("repository:team/app")).toEqual([]);
    expect(parseScopes("repository::pull")).toEqual([]);
    expect(parseScopes("")).toEqual([]);
    expect(parseScopes("Repo:x:pull")).toEqual([]);
  });

  test("formatScope writes what parseScopes reads", () => {
    expect(formatScope({ type: "repository", name: "a/b", actions: ["pull", "push"] })).toBe("repository:a/b:pull,push");
  });
});

describe("needOf", () => {
  const need = (method: string, path: string) => {
    const url = new URL(path, "http://registry.test");
    return needOf(parseRoute(url.pathname), method, url);
  };

  test("reads need pull", () => {
    for (const path of ["/v2/a/b/manifests/v1", "/v2/a/b/blobs/sha256:00", "/v2/a/b/tags/list", "/v2/a/b/referrers/sha256:00"]) {
      for (const method of ["GET", "HEAD"]) expect(need(method, path)).toMatchObject({ kind: "repository", name: "a/b", action: "pull" });
    }
  });

  test("uploads and manifest puts need push; the challenge asks for pull,push", () => {
    expect(need("POST", "/v2/a/b/blobs/uploads/")).toEqual({ kind: "repository", name: "a/b", action: "push", challenge: ["pull", "push"] });
    for (const method of ["PATCH", "PUT", "GET", "DELETE"]) expect(need(method, "/v2/a/b/blobs/uploads/some-id")).toMatchObject({ action: "push" });
    expect(need("PUT", "/v2/a/b/manifests/v1")).toMatchObject({ action: "push" });
  });

  test("a mount names the repository it reads from", () => {
    expect(need("POST", "/v2/a/b/blobs/uploads/?mount=sha256:00&from=c/d")).toMatchObject({ action: "push", mountFrom: "c/d" });
    expect(need("POST", "/v2/a/b/blobs/uploads/?mount=sha256:00")).not.toHaveProperty("mountFrom");
  });

  test("deletes of manifests and blobs need delete", () => {
    expect(need("DELETE", "/v2/a/b/manifests/sha256:00")).toMatchObject({ action: "delete", challenge: ["delete"] });
    expect(need("DELETE", "/v2/a/b/blobs/sha256:00")).toMatchObject({ action: "delete" });
  });

  test("the base, the catalog and unknown paths", () => {
    expect(need("GET", "/v2/")).toEqual({ kind: "signed-in" });
    expect(need("GET", "/v2/_catalog")).toEqual({ kind: "catalog" });
    expect(need("GET", "/v2/nothing")).toEqual({ kind: "signed-in" });
  });
});
