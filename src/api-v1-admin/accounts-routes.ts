/**
 * The accounts API (docs/api.md), what `berth robot` and `berth ns` call through adminCall:
 *   /api/v1/robots[/NAME[/rotate|disable|enable]]        admins
 *   /api/v1/namespaces (list, create), DELETE …/NS        admins
 *   /api/v1/namespaces/NS[/anonymous|members[/MEMBER]|robots[/NAME[/…]]]
 *                                                       admins and the namespace's admin members
 * (accountsNeed tells the access layer which). A robot is made by the caller, its creator: its
 * rights never exceed the creator's (checked at use, src/auth/rights.ts); a namespace admin's
 * robots must stay inside the namespace. On the admin socket the creator is `berth:cli`.
 *
 * Every change is one audit line (src/audit): `robot.create`, `robot.delete`, `robot.rotate`,
 * `robot.disable`, `robot.enable`, `namespace.create`, `namespace.delete`, `namespace.anonymous`,
 * `namespace.member.add`, `namespace.member.remove`, with the caller, the result and what the
 * change named (robot, namespace, member, role, grant, expiry); never a secret.
 */
import { errorResponse, HttpError } from "../api/errors.ts";
import type { Accounts } from "../accounts/accounts.ts";
import { AccountsError, CLI_CREATOR, type Robot } from "../accounts/model.ts";
import { describeChange } from "../audit/http.ts";
import type { Need } from "../auth/scope.ts";
import type { AuditFields, RouteHandler } from "../hooks/types.ts";
import { RegistryError } from "../oci/errors.ts";
import type { PluginRoutes } from "../plugins-host/routes.ts";
import {
  badRequest,
  enabledOf,
  graceOf,
  memberOf,
  namespaceJson,
  namespaceRequestOf,
  readObject,
  robotJson,
  robotRequestOf,
  rotatedJson,
} from "./accounts-json.ts";

const NAMESPACE_PATH = /^\/api\/v1\/namespaces\/([^/]+)(\/.*)?$/;

/** What an /api/ request needs: namespace-admin for a namespace's own routes, admin for the rest. */
export function accountsNeed(request: Request, url: URL): Need {
  const found = NAMESPACE_PATH.exec(url.pathname);
  // deleting a whole namespace is for admins
  if (found === null || (found[2] === undefined && request.method === "DELETE")) return { kind: "admin" };
  const namespace = decoded(found[1] as string);
  return namespace === null ? { kind: "admin" } : { kind: "namespace-admin", namespace };
}

/** A route's work; it adds to `audit` what the change named as it learns it (the path's names are there already). */
type RouteBody = (request: Request, path: Record<string, string>, actor: string, audit: AuditFields) => Promise<Response>;

export function addAccountsRoutes(routes: PluginRoutes, accounts: Accounts, operatorActor: string): void {
  /** `action`: the audit line of a change, refused or not (null for reads). */
  const handle = (action: string | null, body: RouteBody): RouteHandler =>
    async (request, { path, actor }) => {
      const audit: AuditFields = {};
      for (const [key, value] of Object.entries(path)) audit[key] = bounded(decoded(value) ?? value);
      let response: Response;
      try {
        response = await body(request, path, actor ?? "", audit);
      } catch (error) {
        if (error instanceof AccountsError) response = errorResponse(httpErrorOf(error), request.method);
        else if (error instanceof RegistryError) response = errorResponse(error, request.method);
        else throw error;
      }
      return action === null ? response : describeChange(response, { action, fields: audit });
    };
  /** The creator of what this caller makes: a signed-in user, or berth:cli on the admin socket. */
  const creatorOf = (actor: string): string => {
    if (actor === operatorActor) return CLI_CREATOR;
    if (actor === "") throw new AccountsError("denied", "Robots and namespaces are managed over HTTP only with [auth] on; use berth robot / berth ns on the server's machine");
    return actor;
  };
  const ns = (path: Record<string, string>): string => {
    const name = decoded(path.namespace ?? "");
    if (name === null) throw badRequest("The namespace in the path is not valid percent-encoding");
    return name;
  };
  /** The robot `name` as this scope sees it: a namespace's routes see only that namespace's robots. */
  const robotIn = async (namespace: string | null, name: string): Promise<Robot> => {
    const robot = (await accounts.listRobots()).find((candidate) => candidate.name === name);
    if (robot === undefined || (namespace !== null && robot.namespace !== namespace)) throw new AccountsError("not-found", `No robot named "${name}"${namespace === null ? "" : ` in namespace "${namespace}"`}`);
    return robot;
  };

  const robotRoutes = (prefix: string, scope: (path: Record<string, string>) => string | null) => {
    routes.add("GET", prefix, handle(null, async (_request, path) => {
      const namespace = scope(path);
      const robots = (await accounts.listRobots()).filter((robot) => namespace === null || robot.namespace === namespace);
      return Response.json({ robots: robots.map((robot) => robotJson(robot)) });
    }));
    routes.add("POST", prefix, handle("robot.create", async (request, path, actor, audit) => {
      const creator = creatorOf(actor);
      const wanted = robotRequestOf(await readObject(request), scope(path));
      Object.assign(audit, {
        robot: bounded(wanted.name),
        namespace: wanted.namespace,
        repositories: bounded(wanted.repositories.join(",")),
        actions: bounded(wanted.actions.join(",")),
        creator,
      });
      const { robot, secret } = await accounts.createRobot(wanted, creator);
      audit.expires_at = robot.expiresAt === null ? null : new Date(robot.expiresAt).toISOString();
      return Response.json({ ...robotJson(robot), secret }, { status: 201 });
    }));
    routes.add("GET", `${prefix}/{robot}`, handle(null, async (_request, path) => Response.json(robotJson(await robotIn(scope(path), path.robot ?? "")))));
    routes.add("DELETE", `${prefix}/{robot}`, handle("robot.delete", async (_request, path) => {
      const robot = await robotIn(scope(path), path.robot ?? "");
      await accounts.deleteRobot(robot.name);
      return new Response(null, { status: 204 });
    }));
    routes.add("POST", `${prefix}/{robot}/rotate`, handle("robot.rotate", async (request, path, _actor, audit) => {
      const robot = await robotIn(scope(path), path.robot ?? "");
      const { secret, previousUntil } = await accounts.rotateRobot(robot.name, graceOf(await readObject(request)));
      audit.previous_secret_valid_until = previousUntil === null ? null : new Date(previousUntil).toISOString();
      return Response.json(rotatedJson(robot.name, secret, previousUntil));
    }));
    for (const [verb, disabled] of [["disable", true], ["enable", false]] as const) {
      routes.add("POST", `${prefix}/{robot}/${verb}`, handle(`robot.${verb}`, async (_request, path) => {
        const robot = await robotIn(scope(path), path.robot ?? "");
        await accounts.setRobotDisabled(robot.name, disabled);
        return Response.json(robotJson({ ...robot, disabled }));
      }));
    }
  };
  robotRoutes("/api/v1/robots", () => null);
  robotRoutes("/api/v1/namespaces/{namespace}/robots", ns);

  routes.add("GET", "/api/v1/namespaces", handle(null, async () => Response.json({ namespaces: (await accounts.fresh()).namespaces().map(namespaceJson) })));
  routes.add("POST", "/api/v1/namespaces", handle("namespace.create", async (request, _path, actor, audit) => {
    creatorOf(actor);
    const { name, anonymousPull } = namespaceRequestOf(await readObject(request));
    Object.assign(audit, { namespace: bounded(name), anonymous_pull: anonymousPull });
    return Response.json(namespaceJson(await accounts.createNamespace(name, anonymousPull)), { status: 201 });
  }));
  routes.add("GET", "/api/v1/namespaces/{namespace}", handle(null, async (_request, path) => {
    const namespace = (await accounts.fresh()).namespace(ns(path));
    if (namespace === undefined) throw new AccountsError("not-found", `No namespace "${ns(path)}"`);
    return Response.json(namespaceJson(namespace));
  }));
  routes.add("DELETE", "/api/v1/namespaces/{namespace}", handle("namespace.delete", async (_request, path) => {
    await accounts.deleteNamespace(ns(path));
    return new Response(null, { status: 204 });
  }));
  routes.add("POST", "/api/v1/namespaces/{namespace}/anonymous", handle("namespace.anonymous", async (request, path, _actor, audit) => {
    const enabled = enabledOf(await readObject(request));
    audit.anonymous_pull = enabled;
    await accounts.setAnonymousPull(ns(path), enabled);
    return namespaceAnswer(accounts, ns(path));
  }));
  routes.add("POST", "/api/v1/namespaces/{namespace}/members", handle("namespace.member.add", async (request, path, actor, audit) => {
    creatorOf(actor);
    const { member, role } = memberOf(await readObject(request));
    Object.assign(audit, { member: bounded(member), role });
    await accounts.putMember(ns(path), member, role);
    return namespaceAnswer(accounts, ns(path));
  }));
  routes.add("DELETE", "/api/v1/namespaces/{namespace}/members/{member}", handle("namespace.member.remove", async (_request, path) => {
    const member = decoded(path.member ?? "");
    if (member === null) throw badRequest("The member in the path is not valid percent-encoding");
    await accounts.removeMember(ns(path), member);
    return namespaceAnswer(accounts, ns(path));
  }));
}

async function namespaceAnswer(accounts: Accounts, name: string): Promise<Response> {
  const namespace = (await accounts.fresh()).namespace(name);
  if (namespace === undefined) throw new AccountsError("not-found", `No namespace "${name}"`);
  return Response.json(namespaceJson(namespace));
}

/** A value from the caller, as long as an audit line takes it. */
function bounded(text: string): string {
  return text.slice(0, 512);
}

function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function httpErrorOf(error: AccountsError): RegistryError {
  switch (error.kind) {
    case "invalid":
      return badRequest(error.message);
    case "exists":
      return new HttpError("DENIED", { status: 409, message: error.message });
    case "not-found":
      return new RegistryError("NOT_FOUND", { message: error.message });
    case "denied":
      return new RegistryError("DENIED", { message: error.message });
  }
}
