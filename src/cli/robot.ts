/**
 * `berth robot create|list|disable|enable|delete|rotate`: robot accounts for CI, through the
 * admin API (`/api/v1/robots`, or a namespace's `/api/v1/namespaces/NS/robots`) on the running
 * server's admin socket, or in this process when no server holds the storage root: one code
 * path, and a running server sees the change at once.
 */
import { adminCall } from "./admin-call.ts";
import { isJson, lastOption, listOf, listOption, parseArgs, segment, table, text } from "./accounts-output.ts";

export const ROBOT_HELP = `Usage:
  berth robot create NAME --repositories GLOB[,GLOB] --actions pull[,push][,delete]
                    [--expires 90d|never] [--description TEXT] [--namespace NS]
  berth robot list [--namespace NS] [--json]
  berth robot disable|enable|delete NAME [--namespace NS]
  berth robot rotate NAME [--grace 24h] [--namespace NS]
  (each also takes --config FILE)

Robot accounts sign in as robot$NAME (docker login -u 'robot$NAME' --password-stdin), in
basic and token mode. create and rotate print the new secret on standard output, once: only
its hash is stored. A robot may do what --actions names on the repositories the globs match
(* within a path component, ** across them), never more than its creator: robots made here
are made by the operator ("berth:cli") and have no such cap. --expires defaults to never;
a robot expiring within 7 days is logged and sent as an "expiring" webhook event daily.
rotate makes a new secret; the old one stays valid for --grace (default 0: refused at once).
disable refuses the robot at once (its tokens too); enable lets it in again.
--namespace NS keeps the robot with namespace NS (its globs must lie inside it; the
namespace's admins manage it through the API).

Like berth user, this needs no credentials: it works on the storage the configuration
(--config FILE, BERTH_* variables) names, through the server's admin socket when one runs.`;

const HELP = "berth robot --help";

export async function robotCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub = "", ...rest] = argv;
  const parsed = parseArgs(rest, ["repositories", "actions", "expires", "description", "namespace", "grace"], ["json"], HELP);
  const namespace = lastOption(parsed, "namespace");
  const base = namespace === undefined ? "/api/v1/robots" : `/api/v1/namespaces/${segment(namespace)}/robots`;
  const name = () => {
    const [robot, extra] = parsed.positional;
    if (robot === undefined) throw new Error(`berth robot ${sub} needs a robot NAME`);
    if (extra !== undefined) throw new Error(`unexpected argument "${extra}" (see ${HELP})`);
    return robot.replace(/^robot\$/, "");
  };
  switch (sub) {
    case "create": {
      const body = {
        name: name(),
        repositories: listOption(parsed, "repositories"),
        actions: listOption(parsed, "actions"),
        expires: lastOption(parsed, "expires") ?? "never",
        description: lastOption(parsed, "description") ?? "",
      };
      if (body.repositories.length === 0) throw new Error("berth robot create needs --repositories GLOB (e.g. 'team/**')");
      if (body.actions.length === 0) throw new Error("berth robot create needs --actions (pull, push, delete)");
      const robot = await adminCall(configFile, "POST", base, body);
      printSecret(robot, "created");
      return;
    }
    case "rotate": {
      const robot = name();
      const grace = lastOption(parsed, "grace");
      printSecret(await adminCall(configFile, "POST", `${base}/${segment(robot)}/rotate`, grace === undefined ? {} : { grace }), "rotated");
      return;
    }
    case "list": {
      if (parsed.positional.length > 0) throw new Error(`unexpected argument "${parsed.positional[0]}" (see ${HELP})`);
      const body = await adminCall(configFile, "GET", base);
      if (parsed.flags.has("json")) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      const rows = listOf(body, "robots").map((robot) => [
        text(robot.user),
        text(robot.repositories),
        text(robot.actions),
        text(robot.expires_at, "never"),
        robot.disabled === true ? "disabled" : robot.expired === true ? "expired" : "active",
        text(robot.creator),
        `${text(robot.last_used_at, "never")}${typeof robot.last_used_addr === "string" ? ` from ${robot.last_used_addr}` : ""}`,
      ]);
      process.stdout.write(table(["USER", "REPOSITORIES", "ACTIONS", "EXPIRES", "STATE", "CREATOR", "LAST USED"], rows));
      return;
    }
    case "disable":
    case "enable": {
      const robot = name();
      await adminCall(configFile, "POST", `${base}/${segment(robot)}/${sub}`);
      process.stdout.write(`robot$${robot} ${sub}d\n`);
      return;
    }
    case "delete": {
      const robot = name();
      await adminCall(configFile, "DELETE", `${base}/${segment(robot)}`);
      process.stdout.write(`robot$${robot} deleted\n`);
      return;
    }
    default:
      throw new Error(`unknown robot command "${sub}" (berth robot create|list|disable|enable|delete|rotate; see ${HELP})`);
  }
}

/** The secret alone on standard output (SECRET=$(berth robot create …)); the rest on standard error. */
function printSecret(answer: unknown, what: string): void {
  if (!isJson(answer) || typeof answer.secret !== "string") throw new Error("the server's answer carries no secret");
  const notes = [`${text(answer.user)} ${what}; the secret below is shown only now`];
  if (typeof answer.expires_at === "string") notes.push(`expires ${answer.expires_at}`);
  if (typeof answer.previous_secret_valid_until === "string") notes.push(`the previous secret works until ${answer.previous_secret_valid_until}`);
  process.stderr.write(`${notes.join("; ")}\n`);
  process.stdout.write(`${answer.secret}\n`);
}
