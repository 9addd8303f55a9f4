/**
 * The configuration keys of access control, `[auth]`, `[[access]]` and `[http.tls]`, as parts
 * of the one schema in src/config/schema.ts (which places them).
 */
import { Type } from "@sinclair/typebox";
import { Duration } from "../config/duration.ts";
import { LdapSchema } from "./ldap/schema.ts";
import { OidcTrustSchema } from "./oidc/schema.ts";

export const TlsSchema = Type.Object(
  {
    certificate: Type.String({ default: "", description: "PEM certificate (chain) file; with key, Berth serves HTTPS. Relative to the config file" }),
    key: Type.String({ default: "", description: "PEM private key file of the certificate" }),
    client_ca: Type.String({ default: "", description: "PEM CA file; when set, clients must present a certificate it signed (mutual TLS)" }),
  },
  { default: {}, additionalProperties: false },
);

export const AuthSchema = Type.Object(
  {
    htpasswd: Type.String({
      default: "",
      description: "users file (htpasswd format, bcrypt or argon2id); setting it turns authentication on. Relative to the config file",
    }),
    mode: Type.Union([Type.Literal("token"), Type.Literal("basic")], {
      default: "token",
      description: "token (Docker's token authentication, built-in /auth/token) or basic (credentials on every request)",
    }),
    admins: Type.Array(Type.String(), { default: [], description: "users with every right on every repository and on /api/" }),
    groups: Type.Record(Type.String(), Type.Array(Type.String()), { default: {}, description: "group name -> user names, for [[access]] groups" }),
    realm: Type.String({ default: "Berth registry", description: "the realm of the Basic challenge" }),
    service: Type.String({ default: "berth", description: "service name in the Bearer challenge and the tokens' audience" }),
    token_ttl: Duration("5m", "lifetime of a token from /auth/token (clients expect at least 60s)"),
    throttle: Type.Object(
      {
        failures: Type.Integer({ default: 5, minimum: 1, description: "failed logins per client address and user name before a lockout" }),
        window: Duration("15m", "failures older than this (with no lockout running) are forgotten"),
        lockout: Duration("30s", "first lockout; each further failure doubles it, up to 15 minutes"),
      },
      { default: {}, additionalProperties: false },
    ),
    ldap: LdapSchema,
    oidc_trust: OidcTrustSchema,
  },
  { default: {}, additionalProperties: false },
);

export const AccessSchema = Type.Array(
  Type.Object(
    {
      repositories: Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: "repository globs: * within a path component, ** across them (team/**, */base)",
      }),
      users: Type.Array(Type.String(), { default: [], description: 'user names; "*" is every signed-in user' }),
      groups: Type.Array(Type.String(), { default: [], description: "group names from [auth.groups]" }),
      anonymous: Type.Boolean({ default: false, description: "the rule applies to callers who did not sign in (and so to everyone)" }),
      actions: Type.Array(Type.Union([Type.Literal("pull"), Type.Literal("push"), Type.Literal("delete"), Type.Literal("*")]), {
        minItems: 1,
        description: 'pull, push, delete or "*"',
      }),
    },
    { additionalProperties: false },
  ),
  { default: [], description: "access rules; with none (and no admins) every signed-in user may do everything, else what no rule allows is denied" },
);
