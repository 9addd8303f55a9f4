/**
 * `[[auth.oidc_trust]]`: CI jobs that sign in with their OIDC ID token (docs/auth.md). Each
 * entry trusts one issuer for one audience; a token whose claims match gets the entry's
 * actions on its repositories. Placed in the one schema by src/auth/schema.ts.
 */
import { Type } from "@sinclair/typebox";

const ClaimPattern = Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })]);

export const OidcTrustSchema = Type.Array(
  Type.Object(
    {
      issuer: Type.String({
        pattern: "^(https://[^\\s]+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:\\d+)?(/[^\\s]*)?)$",
        description: "the issuer URL exactly as the tokens' iss claim says it (https://; http:// only on loopback); its keys come from <issuer>/.well-known/openid-configuration",
      }),
      audience: Type.String({ minLength: 1, description: "the aud the token must carry (GitHub: the audience asked for; GitLab: the id_tokens aud)" }),
      claims: Type.Record(Type.String(), ClaimPattern, {
        default: {},
        description: 'claim name -> glob or list of globs its value must match (* within a path component, ** across): { repository = "org/*", ref = "refs/heads/main" }',
      }),
      repositories: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: "repository globs a matching token may act on" }),
      actions: Type.Array(Type.Union([Type.Literal("pull"), Type.Literal("push"), Type.Literal("delete"), Type.Literal("*")]), {
        minItems: 1,
        description: 'pull, push, delete or "*"',
      }),
    },
    { additionalProperties: false },
  ),
  { default: [], description: "OIDC issuers whose ID tokens sign in CI jobs without stored secrets" },
);
