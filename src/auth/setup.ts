/**
 * Builds the access layer from the configuration: `[auth] htpasswd` turns it on. Returns the
 * gate that app.ts puts in front of /v2/ and /api/, and the token service behind /auth/token;
 * null when authentication is off (then everything stays open, as without this module).
 */
import type { Accounts } from "../accounts/accounts.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import type { RequestInfo } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import { AccessController } from "./controller.ts";
import { HtpasswdFile, type HtpasswdEntries } from "./htpasswd.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { loadSigningKey } from "./keys.ts";
import { Login } from "./login.ts";
import { handleOidcExchange } from "./oidc/exchange.ts";
import { OIDC_USER } from "./oidc/source.ts";
import { Policy } from "./policy.ts";
import { AccountRights } from "./rights.ts";
import { RobotSource } from "./robot-source.ts";
import { RobotLogins } from "./robots.ts";
import type { Need } from "./scope.ts";
import { authSettings } from "./settings.ts";
import type { DirectorySource } from "./ldap/source.ts";
import { createAccountSources } from "./sources.ts";
import { LoginThrottle } from "./throttle.ts";
import { SharedFailures } from "./shared-failures.ts";
import type { SQL } from "bun";
import { TokenService } from "./token-endpoint.ts";
import { UserStore } from "./users.ts";

/** The /v2/ handler as v2.ts makes it (and the core /api/v1 one); `visible` filters the catalog. */
export type V2Handler = (request: Request, info: RequestInfo, visible?: (repository: string) => boolean) => Promise<Response>;
export type PlainHandler = (request: Request, info: RequestInfo) => Promise<Response>;

/** What the HTTP wiring needs from the access layer. */
export interface AuthGate {
  /** wraps the /v2/ handler: authorize first, then dispatch */
  guardV2(next: V2Handler): PlainHandler;
  /** wraps core routes that declare what each request needs (src/api-v1): pull rights, the catalog's, or admin */
  guard(needOf: (request: Request, url: URL) => Need, next: V2Handler): PlainHandler;
  /** wraps the /api/ plugin routes: admins only */
  guardAdmin(next: PlainHandler): PlainHandler;
  /** GET /api/v1/me: the caller's name, admin flag and rights on ?repository=; a Response for bad credentials */
  me(request: Request, info: RequestInfo): Promise<Response | Record<string, unknown>>;
  /** GET|POST /auth/token and POST /auth/oidc (404 in basic mode) */
  token: PlainHandler;
  describe(): Record<string, string>;
}

export interface AuthSetupOptions {
  config: ResolvedConfig;
  /** the config file, named in the hint to create a missing users file; null when there is none */
  configFile: string | null;
  /** where the token signing key lives (berth/auth/token-key.jwk) */
  storage: StorageDriver;
  /** robots and namespaces (in the metadata index) */
  accounts: Accounts;
  log: Logger;
  /** the database replicas share (login failures, the first signing key); null for one process */
  shared?: SQL | null;
}

/** @throws Error with a message for the operator when the set-up cannot work */
export async function createAuth({ config, configFile, storage, accounts, log, shared = null }: AuthSetupOptions): Promise<AuthGate | null> {
  if (config.auth.htpasswd === "") {
    if (config.access.length > 0 || config.auth.admins.length > 0) {
      throw new Error("[[access]] rules and [auth] admins need [auth] htpasswd (the users file); without it authentication is off");
    }
    if (config.auth.ldap !== null || config.auth.oidcTrust.length > 0) {
      throw new Error("[auth.ldap] and [[auth.oidc_trust]] need [auth] htpasswd, which turns authentication on (the file may be empty)");
    }
    return null;
  }
  const path = config.auth.htpasswd;
  const file = new HtpasswdFile(path, (message) => log("warn", "htpasswd", { problem: message }));
  let entries: HtpasswdEntries;
  try {
    entries = file.load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`Cannot read [auth] htpasswd file ${path}: ${code === "ENOENT" ? "no such file" : code} (create it with: berth user add NAME${configFile ? ` --config ${configFile}` : ` --file ${path}`})`);
  }
  for (const problem of entries.problems) log("warn", "htpasswd", { file: path, problem });
  const sources = createAccountSources(config, log);
  const { directory } = sources;
  const policy = new Policy({
    admins: config.auth.admins,
    groups: config.auth.groups,
    access: config.access,
    ...(directory ? { groupsOf: (user: string) => directory.groupsOf(user) } : {}),
  });
  // directory users are not in the file: only without a directory is a missing name suspicious
  for (const name of directory ? [] : policy.namedUsers()) {
    if (!entries.users.has(name)) log("warn", "a user named in [auth] or [[access]] is not in the htpasswd file", { user: name, file: path });
  }
  if (sources.oidc && entries.users.has(OIDC_USER)) log("warn", `the htpasswd user "${OIDC_USER}" cannot sign in: with [[auth.oidc_trust]] that name takes OIDC ID tokens`, { file: path });
  const settings = authSettings(config);
  const users = new UserStore(file);
  await users.warm();
  const throttle = new LoginThrottle(config.auth.throttle);
  const { robots, rights } = accountParts(config, policy, users, accounts, directory);
  const login = new Login(users, throttle, log, [new RobotSource(robots), ...sources.list], shared ? new SharedFailures(shared, config.auth.throttle) : null);
  const key = await loadSigningKey(storage, shared);
  const controller = new AccessController({ settings, policy: rights, login, key });
  const tokens = new TokenService({ settings, policy: rights, login, key });

  // every check reads the accounts' snapshot: made fresh once per request (no query while it is)
  return {
    guardV2: (next) => async (request, info) => {
      await accounts.fresh();
      const decision = await controller.authorizeV2(request, info);
      if ("response" in decision) return decision.response;
      return next(decision.request, info, decision.visible);
    },
    guard: (needOf, next) => async (request, info) => {
      await accounts.fresh();
      const url = new URL(request.url);
      const decision = await controller.authorize(request, info, needOf(request, url), url);
      if ("response" in decision) return decision.response;
      return next(decision.request, info, decision.visible);
    },
    guardAdmin: (next) => async (request, info) => {
      await accounts.fresh();
      return (await controller.authorizeAdmin(request, info)) ?? next(request, info);
    },
    me: async (request, info) => {
      await accounts.fresh();
      return controller.me(request, info);
    },
    token: async (request, info) => {
      if (settings.mode === "token" && new URL(request.url).pathname === "/auth/oidc") return handleOidcExchange(request, info, settings, sources.oidc, tokens);
      if (settings.mode !== "token") return Response.json({ errors: [{ code: "NOT_FOUND", message: "Token auth is off ([auth] mode = \"basic\")", detail: null }] }, { status: 404 });
      await accounts.fresh();
      return tokens.handle(request, info);
    },
    describe: () => ({ auth: settings.mode, users: String(entries.users.size), htpasswd: path, ...sources.describe(), access: policy.describe() }),
  };
}

/** Robot sign-in and the rights of every source together (rules, roles, robots): rights.ts. */
function accountParts(
  config: ResolvedConfig,
  policy: Policy,
  users: UserStore,
  accounts: Accounts,
  directory: DirectorySource | null,
): { robots: RobotLogins; rights: AccountRights } {
  const groups = new Map<string, string[]>();
  for (const [group, members] of Object.entries(config.auth.groups)) {
    for (const member of members) groups.set(member, [...(groups.get(member) ?? []), group]);
  }
  // directory groups take namespace roles as [auth.groups] do
  const groupsOf = (user: string) => [...(groups.get(user) ?? []), ...(directory?.groupsOf(user) ?? [])];
  const rights = new AccountRights(policy, accounts, groupsOf, (user) => users.exists(user) || (directory !== null && directory.subject(user) !== null));
  return { robots: new RobotLogins(accounts), rights };
}
