/**
 * `berth ns create|list|show|delete|anonymous|member`: namespaces and their members' roles,
 * through the admin API (`/api/v1/namespaces`) on the running server's admin socket, or in this
 * process when no server holds the storage root. Changes apply at once, without a restart.
 */
import { adminCall } from "./admin-call.ts";
import { isJson, listOf, parseArgs, segment, table, text } from "./accounts-output.ts";

export const NS_HELP = `Usage:
  berth ns create NS [--anonymous-pull]
  berth ns list [--json]
  berth ns show NS [--json]
  berth ns delete NS
  berth ns anonymous NS on|off
  berth ns member add NS MEMBER ROLE
  berth ns member remove NS MEMBER
  (each also takes --config FILE)

A namespace is a repository's first path component (team: team/app, team/tools/ci) or a
repository glob ('*/base', 'legacy/**'). Its members have roles on every repository in it:
  admin       pull, push, delete; manages the namespace's members and robots (admin API)
  maintainer  pull, push, delete (tags and manifests)
  developer   pull, push
  reader      pull
MEMBER is a user name, or group:NAME for a group of [auth.groups] or of the directory
([auth.ldap]). "anonymous NS on" lets everyone, signed in or not, pull from the namespace.
A request is allowed when the [[access]] rules of the configuration or a role allows it
(with neither rules nor admins configured, every signed-in user may do everything anyway).

Like berth user, this needs no credentials: it works on the storage the configuration
(--config FILE, BERTH_* variables) names, through the server's admin socket when one runs.`;

const HELP = "berth ns --help";

export async function nsCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub = "", ...rest] = argv;
  const parsed = parseArgs(rest, [], ["json", "anonymous-pull"], HELP);
  const args = (count: number, usage: string): string[] => {
    if (parsed.positional.length !== count) throw new Error(`usage: berth ns ${usage} (see ${HELP})`);
    return parsed.positional;
  };
  const path = (ns: string) => `/api/v1/namespaces/${segment(ns)}`;
  switch (sub) {
    case "create": {
      const [ns = ""] = args(1, "create NS [--anonymous-pull]");
      await adminCall(configFile, "POST", "/api/v1/namespaces", { name: ns, anonymous_pull: parsed.flags.has("anonymous-pull") });
      process.stdout.write(`namespace ${ns} created\n`);
      return;
    }
    case "list": {
      args(0, "list [--json]");
      const body = await adminCall(configFile, "GET", "/api/v1/namespaces");
      if (parsed.flags.has("json")) return printJson(body);
      const rows = listOf(body, "namespaces").map((ns) => [
        text(ns.name),
        ns.anonymous_pull === true ? "on" : "off",
        listOf(ns, "members").map((member) => `${text(member.member)}=${text(member.role)}`).join(" ") || "-",
      ]);
      process.stdout.write(table(["NAMESPACE", "ANONYMOUS PULL", "MEMBERS"], rows));
      return;
    }
    case "show": {
      const [ns = ""] = args(1, "show NS [--json]");
      const body = await adminCall(configFile, "GET", path(ns));
      if (parsed.flags.has("json") || !isJson(body)) return printJson(body);
      process.stdout.write(`namespace ${text(body.name)}, anonymous pull ${body.anonymous_pull === true ? "on" : "off"}\n`);
      process.stdout.write(table(["MEMBER", "ROLE", "ADDED"], listOf(body, "members").map((member) => [text(member.member), text(member.role), text(member.added_at)])));
      return;
    }
    case "delete": {
      const [ns = ""] = args(1, "delete NS");
      await adminCall(configFile, "DELETE", path(ns));
      process.stdout.write(`namespace ${ns} deleted\n`);
      return;
    }
    case "anonymous": {
      const [ns = "", state = ""] = args(2, "anonymous NS on|off");
      if (state !== "on" && state !== "off") throw new Error(`berth ns anonymous takes on or off, not "${state}"`);
      await adminCall(configFile, "POST", `${path(ns)}/anonymous`, { enabled: state === "on" });
      process.stdout.write(`anonymous pull from namespace ${ns}: ${state}\n`);
      return;
    }
    case "member":
      return memberCommand(parsed.positional, configFile, path);
    default:
      throw new Error(`unknown ns command "${sub}" (berth ns create|list|show|delete|anonymous|member; see ${HELP})`);
  }
}

async function memberCommand(positional: string[], configFile: string | undefined, path: (ns: string) => string): Promise<void> {
  const [verb, ns, member, role, extra] = positional;
  if (verb === "add" && ns !== undefined && member !== undefined && role !== undefined && extra === undefined) {
    await adminCall(configFile, "POST", `${path(ns)}/members`, { member, role });
    process.stdout.write(`${member} is ${role} of namespace ${ns}\n`);
    return;
  }
  // a ROLE after remove is accepted (add's shape) and not needed
  if (verb === "remove" && ns !== undefined && member !== undefined && extra === undefined) {
    await adminCall(configFile, "DELETE", `${path(ns)}/members/${segment(member)}`);
    process.stdout.write(`${member} is no longer a member of namespace ${ns}\n`);
    return;
  }
  throw new Error(`usage: berth ns member add NS MEMBER ROLE | berth ns member remove NS MEMBER (see ${HELP})`);
}

function printJson(body: unknown): void {
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}
