/**
 * `[auth.ldap]`: signing in against an LDAP directory or Active Directory (docs/auth.md).
 * Placed in the one schema by src/auth/schema.ts.
 */
import { Type } from "@sinclair/typebox";
import { Duration } from "../../config/duration.ts";

export const LdapSchema = Type.Object(
  {
    url: Type.String({
      default: "",
      pattern: "^(|ldaps?://[^/?#]+/?)$",
      description: 'the directory, ldap://host[:389] or ldaps://host[:636]; "" turns directory login off',
    }),
    start_tls: Type.Boolean({ default: false, description: "with an ldap:// url, upgrade the connection with StartTLS before binding (required to succeed)" }),
    ca_file: Type.String({ default: "", description: "PEM CA file the directory's certificate must chain to (ldaps:// or StartTLS); the system's CAs when empty. Relative to the config file" }),
    bind_dn: Type.String({ default: "", description: 'DN of the service account that searches for users and groups; "" searches anonymously' }),
    bind_password: Type.String({ default: "", description: "password of bind_dn" }),
    user_base: Type.String({ default: "", description: "where users are searched (whole subtree), e.g. ou=people,dc=example,dc=com" }),
    user_filter: Type.String({
      default: "(uid={user})",
      description: "RFC 4515 filter finding the user; {user} is the login name, escaped. Add conditions to refuse accounts, e.g. (&(uid={user})(!(description=disabled)))",
    }),
    group_base: Type.String({ default: "", description: 'where groups are searched; "" gives directory users no groups' }),
    group_filter: Type.String({
      default: "(|(member={dn})(uniqueMember={dn}))",
      description: "RFC 4515 filter finding the user's groups; {dn} is the user's DN, {user} the login name, both escaped",
    }),
    group_attribute: Type.String({ default: "cn", description: "attribute of a group entry whose value is the Berth group name used in [[access]] groups" }),
    timeout: Duration("5s", "longest wait for the directory: connecting, TLS, each answer"),
  },
  { default: {}, additionalProperties: false },
);
