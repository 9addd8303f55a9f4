/** The issuer key cache: discovery, refetch on an unknown kid (rate-limited), stale keys kept; algorithm checks. */
import { describe, expect, test } from "bun:test";
import { IssuerKeys, IssuerUnavailable, type Jwk } from "../../../src/auth/oidc/jwks.ts";
import { OidcTokenError, readToken, verifyIdToken } from "../../../src/auth/oidc/verify.ts";

const ISSUER = "https://issuer.example.com";

/** A fake issuer: its JWK set can change, and it can go down; fetches are counted. */
function fakeIssuer(keys: Jwk[]) {
  const state = { keys, down: false, jwksFetches: 0, discovery: { issuer: ISSUER, jwks_uri: `${ISSUER}/keys` } as Record<string, unknown> };
  const fetcher = (async (input: string | URL | Request) => {
    const url = String(input);
    if (state.down) throw new Error("connection refused");
    if (url === `${ISSUER}/.well-known/openid-configuration`) return Response.json(state.discovery);
    if (url === `${ISSUER}/keys`) {
      state.jwksFetches++;
      return Response.json({ keys: state.keys });
    }
    return new Response("", { status: 404 });
  }) as typeof fetch;
  return { state, fetcher };
}

const key = (kid: string): Jwk => ({ kty: "EC", crv: "P-256", kid, x: "x", y: "y" });

describe("IssuerKeys", () => {
  test("finds keys by kid; an unknown kid refetches, at most a burst of 3 then one per 20 s", async () => {
    const { state, fetcher } = fakeIssuer([key("a")]);
    let clock = 1_000_000;
    const keys = new IssuerKeys(ISSUER, { fetch: fetcher, now: () => clock });
    expect((await keys.find("a"))?.kid).toBe("a");
    expect(state.jwksFetches).toBe(1);
    for (let i = 0; i < 10; i++) expect(await keys.find(`unknown-${i}`)).toBeNull();
    expect(state.jwksFetches).toBe(4);
    clock += 20_000;
    state.keys = [key("b")];
    expect((await keys.find("b"))?.kid).toBe("b");
    expect(state.jwksFetches).toBe(5);
  });

  test("a token without kid uses the only key; with several keys it finds none", async () => {
    const { fetcher } = fakeIssuer([key("a")]);
    expect((await new IssuerKeys(ISSUER, { fetch: fetcher }).find(undefined))?.kid).toBe("a");
    const two = fakeIssuer([key("a"), key("b")]);
    expect(await new IssuerKeys(ISSUER, { fetch: two.fetcher }).find(undefined)).toBeNull();
  });

  test("an issuer that cannot be reached is unavailable; keys fetched before stay in use when a refresh fails", async () => {
    const { state, fetcher } = fakeIssuer([key("a")]);
    state.down = true;
    await expect(new IssuerKeys(ISSUER, { fetch: fetcher }).find("a")).rejects.toThrow(IssuerUnavailable);
    state.down = false;
    let clock = 0;
    const keys = new IssuerKeys(ISSUER, { fetch: fetcher, now: () => clock });
    expect(await keys.find("a")).not.toBeNull();
    state.down = true;
    clock += 2 * 60 * 60_000;
    expect((await keys.find("a"))?.kid).toBe("a");
  });

  test("a discovery document naming another issuer, or a jwks_uri over plain http, is refused", async () => {
    const other = fakeIssuer([key("a")]);
    other.state.discovery = { issuer: "https://evil.example.com", jwks_uri: `${ISSUER}/keys` };
    await expect(new IssuerKeys(ISSUER, { fetch: other.fetcher }).find("a")).rejects.toThrow(/names another issuer/);
    const plain = fakeIssuer([key("a")]);
    plain.state.discovery = { issuer: ISSUER, jwks_uri: "http://issuer.example.com/keys" };
    await expect(new IssuerKeys(ISSUER, { fetch: plain.fetcher }).find("a")).rejects.toThrow(/jwks_uri/);
  });
});

describe("verifyIdToken", () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

  test("a token whose algorithm does not fit the issuer's key is refused (no RSA/EC or HMAC confusion)", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const jwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid: "k" } as Jwk;
    const { fetcher } = fakeIssuer([jwk]);
    const keys = new IssuerKeys(ISSUER, { fetch: fetcher });
    const claims = { iss: ISSUER, aud: "berth", sub: "x", exp: Math.floor(Date.now() / 1000) + 60 };
    for (const alg of ["RS256", "HS256", "none", "ES384"]) {
      const token = readToken(`${b64({ alg, kid: "k" })}.${b64(claims)}.AAAA`);
      await expect(verifyIdToken(token, keys, ["berth"], Math.floor(Date.now() / 1000))).rejects.toThrow(OidcTokenError);
    }
  });
});
