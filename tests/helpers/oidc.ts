/**
 * OIDC issuers for the tests, speaking the real protocol on 127.0.0.1: one Bun.serve answers
 * for several issuers, each under its own path (`<url>/<name>`), with its discovery document
 * (`/.well-known/openid-configuration`) and its JWK set (`/jwks`). Tokens are signed here with
 * WebCrypto (RS256 or ES256), as GitHub Actions or GitLab CI sign theirs.
 */
import type { Server } from "bun";

export type SigningAlg = "RS256" | "ES256";

interface IssuerKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

export interface TestIssuers {
  /** the issuer URL of `name` (what tokens carry as iss) */
  issuer(name: string): string;
  /** a token from `name` signed with its current key (or an unpublished key when `unpublishedKey`) */
  sign(name: string, claims: Record<string, unknown>, options?: { unpublishedKey?: boolean; header?: Record<string, unknown> }): Promise<string>;
  /** replaces `name`'s published key with a new one (new kid); later tokens use it */
  rotate(name: string): Promise<void>;
  /** how many times `name`'s JWK set was fetched */
  jwksFetches(name: string): number;
  stop(): Promise<void>;
}

const SIGN: Record<SigningAlg, { generate: RsaHashedKeyGenParams | EcKeyGenParams; sign: AlgorithmIdentifier | EcdsaParams }> = {
  RS256: { generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { generate: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
};

async function makeKey(alg: SigningAlg): Promise<IssuerKey> {
  const pair = (await crypto.subtle.generateKey(SIGN[alg].generate, true, ["sign", "verify"])) as CryptoKeyPair;
  const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { kid: crypto.randomUUID(), alg, privateKey: pair.privateKey, publicJwk };
}

const b64 = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");

/** Issuers by name, each signing with `algs[name]`. */
export async function startTestIssuers(algs: Record<string, SigningAlg>): Promise<TestIssuers> {
  const keys = new Map<string, IssuerKey>();
  const unpublished = new Map<string, IssuerKey>();
  const fetches = new Map<string, number>();
  for (const [name, alg] of Object.entries(algs)) {
    keys.set(name, await makeKey(alg));
    unpublished.set(name, await makeKey(alg));
  }
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const [, name = "", ...rest] = new URL(request.url).pathname.split("/");
      const key = keys.get(name);
      if (key === undefined) return new Response("no such issuer", { status: 404 });
      const path = rest.join("/");
      if (path === ".well-known/openid-configuration") return Response.json({ issuer: issuer(name), jwks_uri: `${issuer(name)}/jwks` });
      if (path === "jwks") {
        fetches.set(name, (fetches.get(name) ?? 0) + 1);
        return Response.json({ keys: [{ ...key.publicJwk, kid: key.kid, alg: key.alg, use: "sig" }] });
      }
      return new Response("not found", { status: 404 });
    },
  });
  const issuer = (name: string) => `http://127.0.0.1:${server.port}/${name}`;
  return {
    issuer,
    async sign(name, claims, options = {}) {
      const key = (options.unpublishedKey ? unpublished : keys).get(name);
      if (key === undefined) throw new Error(`no issuer ${name}`);
      const header = b64(JSON.stringify({ alg: key.alg, typ: "JWT", kid: key.kid, ...options.header }));
      const payload = b64(JSON.stringify(claims));
      const signature = await crypto.subtle.sign(SIGN[key.alg].sign, key.privateKey, new TextEncoder().encode(`${header}.${payload}`));
      return `${header}.${payload}.${b64(new Uint8Array(signature))}`;
    },
    async rotate(name) {
      const old = keys.get(name);
      if (old === undefined) throw new Error(`no issuer ${name}`);
      keys.set(name, await makeKey(old.alg));
    },
    jwksFetches: (name) => fetches.get(name) ?? 0,
    async stop() {
      await server.stop(true);
    },
  };
}
