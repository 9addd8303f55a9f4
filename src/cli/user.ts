/**
 * `berth user add|remove|list`: edit the htpasswd file that `[auth] htpasswd` names (or
 * --file PATH). Passwords come from a prompt (not echoed) or, with --password-stdin, from
 * standard input. A running registry sees the change at its next login; no restart.
 */
import { existsSync, readFileSync } from "node:fs";
import { removeUserLine, assertUserName, parseHtpasswd, setUserLine, writeFileAtomic } from "../auth/htpasswd.ts";
import { hashPassword } from "../auth/password.ts";
import { loadConfig } from "../config/load.ts";

export const USER_HELP = `Usage:
  berth user add NAME [--password-stdin] [--bcrypt] [--config FILE | --file PATH]
  berth user remove NAME [--config FILE | --file PATH]
  berth user list [--config FILE | --file PATH]

Edits the htpasswd file named by [auth] htpasswd in the configuration (or --file PATH).
add asks for the password twice (or reads it from standard input with --password-stdin) and
stores an argon2id hash; --bcrypt stores bcrypt ($2y$) instead, for files that Apache tools
must read too. add replaces the password of an existing user. A running registry picks up
the change without a restart.`;

interface UserArgs {
  command: string;
  name?: string;
  passwordStdin: boolean;
  bcrypt: boolean;
  config?: string;
  file?: string;
}

function parseArgs(args: string[]): UserArgs {
  const [command = "", ...rest] = args;
  const parsed: UserArgs = { command, passwordStdin: false, bcrypt: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const value = (option: string) => {
      const inline = arg.startsWith(`${option}=`) ? arg.slice(option.length + 1) : undefined;
      const next = inline ?? rest[++i];
      if (next === undefined || next === "") throw new Error(`${option} needs a value`);
      return next;
    };
    if (arg === "--password-stdin") parsed.passwordStdin = true;
    else if (arg === "--bcrypt") parsed.bcrypt = true;
    else if (arg === "--config" || arg.startsWith("--config=")) parsed.config = value("--config");
    else if (arg === "--file" || arg.startsWith("--file=")) parsed.file = value("--file");
    else if (arg.startsWith("-")) throw new Error(`unknown option "${arg}" (see berth user --help)`);
    else if (parsed.name === undefined) parsed.name = arg;
    else throw new Error(`unexpected argument "${arg}" (see berth user --help)`);
  }
  return parsed;
}

/** The htpasswd path: --file, else [auth] htpasswd of the configuration (resolved by the loader). */
function htpasswdPath(args: UserArgs): string {
  if (args.file !== undefined) return args.file;
  const options = args.config === undefined ? {} : { path: args.config };
  const config = loadConfig(options);
  if (config.auth.htpasswd === "") {
    throw new Error("no htpasswd file: set [auth] htpasswd in the configuration (--config FILE) or pass --file PATH");
  }
  return config.auth.htpasswd;
}

export async function userCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (!["add", "remove", "list"].includes(args.command)) throw new Error(`unknown user command "${args.command}" (berth user add|remove|list)`);
  if (args.command !== "list" && args.name === undefined) throw new Error(`berth user ${args.command} needs a user NAME`);
  if (args.command === "list" && args.name !== undefined) throw new Error("berth user list takes no NAME");
  const path = htpasswdPath(args);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const name = args.name as string;

  switch (args.command) {
    case "list":
      for (const user of parseHtpasswd(text).users.keys()) process.stdout.write(`${user}\n`);
      return;
    case "remove": {
      const next = removeUserLine(text, name);
      if (next === null) throw new Error(`no user "${name}" in ${path}`);
      writeFileAtomic(path, next);
      process.stdout.write(`removed user ${name} from ${path}\n`);
      return;
    }
    case "add": {
      assertUserName(name);
      const password = args.passwordStdin ? await passwordFromStdin() : await promptPassword();
      if (password === "") throw new Error("empty password refused");
      const existed = parseHtpasswd(text).users.has(name);
      writeFileAtomic(path, setUserLine(text, name, await hashPassword(password, args.bcrypt ? "bcrypt" : "argon2id")));
      process.stdout.write(`${existed ? "changed the password of" : "added"} user ${name} in ${path}\n`);
      return;
    }
  }
}

/** All of standard input, without the final line break (`echo pw | berth user add ...`). */
async function passwordFromStdin(): Promise<string> {
  const text = await new Response(Bun.stdin.stream()).text();
  return text.replace(/\r?\n$/, "");
}

async function promptPassword(): Promise<string> {
  if (!process.stdin.isTTY) throw new Error("standard input is not a terminal; pass the password with --password-stdin");
  const first = await readHidden("Password: ");
  const second = await readHidden("Repeat password: ");
  if (first !== second) throw new Error("the passwords differ");
  return first;
}

/** Reads one line from the terminal without echoing it. */
function readHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let line = "";
    const done = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") return done();
        if (char === "\u0003") return done(new Error("interrupted"));
        if (char === "\u007f" || char === "\b") line = line.slice(0, -1);
        else if (char >= " ") line += char;
      }
    };
    stdin.on("data", onData);
  });
}
