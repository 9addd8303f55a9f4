/** Tokens: ES256 signatures, claims checked on every use, the key made once and kept. */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { type AccessEntry, base64url, signToken, type TokenClaims, verifyToken } from "../../src/auth/jwt.ts";
import { join } from "node:path";
import { loadSigningKey } from "../../src/auth/keys.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const root = tempDir("berth-jwt-");
const otherRoot = tempDir("berth-jwt-other-");
afterAll(() => [root, otherRoot].forEach(removeDir));

const NOW = 1_800_000_000;
const access: AccessEntry[] = [{ type: "repository", name: "team/app", actions: ["pull"] }];
const claims = (overrides: Partial<TokenClaims> = {}): TokenClaims => ({
  iss: "berth",
  sub: "alice",
  aud: "berth",
  exp: NOW + 300,
  nbf: NOW,
  iat: NOW,
  jti: "abc",
  access,
  ...overrides,
});
const options = { issuer: "berth", audience: "berth", now: NOW + 1 };

describe("signing key", () => {
  test("is made on first use under berth/auth, private to its owner, and the same afterwards", async () => {
    const first = await loadSigningKey(new FilesystemDriver(root));
    const path = join(root, "berth/auth/token-key.jwk");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ kty: "EC", crv: "P-256" });
    const again = await loadSigningKey(new FilesystemDriver(root));
    expect(again.kid).toBe(first.kid);
    const token = await signToken(claims(), first);
    expect((await verifyToken(token, again, options)).sub).toBe("alice");
  });
});

describe("a damaged signing key", () => {
  test.each([
    ["not JSON", "{torn", "Cannot read the token signing key"],
    ["another kind of key", JSON.stringify({ kty: "RSA", n: "x", e: "AQAB" }), "is not an EC P-256 private key"],
    ["a public key only", JSON.stringify({ kty: "EC", crv: "P-256", x: "a", y: "b" }), "is not an EC P-256 private key"],
  ])("is refused with a message naming the file (%s)", async (_, content, message) => {
    const damaged = tempDir("berth-jwt-damaged-");
    try {
      const driver = new FilesystemDriver(damaged);
      await driver.putContent("berth/auth/token-key.jwk", content);
      await expect(loadSigningKey(driver)).rejects.toThrow(message);
      expect(readFileSync(join(damaged, "berth/auth/token-key.jwk"), "utf8")).toBe(content); // never replaced silently
    } finally {
      removeDir(damaged);
    }
  });
});

describe("verifyToken", async () => {
  const key = await loadSigningKey(new FilesystemDriver(root));
  const other = await loadSigningKey(new FilesystemDriver(otherRoot));

  test("a token carries the spec's header and claims", async () => {
    const token = await signToken(claims(), key);
    const [header, payload] = token.split(".") as [string, string];
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ typ: "JWT", alg: "ES256", kid: key.kid });
    expect(JSON.parse(Buffer.from(payload, "base64url").toString())).toEqual(claims());
    expect(await verifyToken(token, key, options)).toEqual(claims());
  });

  const refusals: Array<[string, () => Promise<string>, string]> = [
    ["expired", () => signToken(claims({ exp: NOW }), key), "Token has expired"],
    ["not valid yet", () => signToken(claims({ nbf: NOW + 60 }), key), "Token is not valid yet"],
    ["for another audience", () => signToken(claims({ aud: "elsewhere" }), key), "Token is for another service"],
    ["from another issuer", () => signToken(claims({ iss: "mallory" }), key), "Token issuer not trusted"],
    ["signed by another key", () => signToken(claims(), { ...other, kid: key.kid }), "Token signature is invalid"],
    ["with an unknown key id", () => signToken(claims(), other), "Token signed by an unknown key"],
    [
      "with alg none",
      async () => `${base64url(JSON.stringify({ typ: "JWT", alg: "none" }))}.${base64url(JSON.stringify(claims()))}.`,
      "Token algorithm not accepted",
    ],
    [
      "with changed claims",
      async () => {
        const [header, , signature] = (await signToken(claims(), key)).split(".");
        return `${header}.${base64url(JSON.stringify(claims({ access: [{ type: "repository", name: "*", actions: ["*"] }] })))}.${signature}`;
      },
      "Token signature is invalid",
    ],
    ["malformed", async () => "a.b", "Malformed token"],
    ["without claims", () => signToken({ ...claims(), jti: undefined } as unknown as TokenClaims, key), 'Token claim "jti" missing'],
  ];
  test.each(refusals)("a token %s is refused", async (_name, make, message) => {
    await expect(verifyToken(await make(), key, options)).rejects.toThrow(message);
  });
});
