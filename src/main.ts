#!/usr/bin/env bun
/** The berth command: the only file with side effects at import. */
import { configCheck } from "./cli/config.ts";
import { serve } from "./cli/serve.ts";
import { USER_HELP, userCommand } from "./cli/user.ts";
import { VERSION } from "./version.ts";

const HELP: Record<string, string> = {
  main: `berth ${VERSION}: a container-image registry in one executable

Usage:
  berth serve [--config FILE]          run the registry
  berth config check [--config FILE]   print the effective configuration or the error
  berth user add|remove|list [NAME]    manage the users of [auth] htpasswd
  berth version                        print the version
  berth <command> --help               help on a command

Configuration: --config FILE, else $BERTH_CONFIG, else ./registry.toml if present, else
built-in defaults (port 5000, data in ./data). Every key can be set by a BERTH_* variable,
e.g. BERTH_HTTP_ADDR=127.0.0.1:5000, BERTH_STORAGE_ROOT=/var/lib/registry.`,
  serve: `Usage: berth serve [--config FILE]

Runs the registry. Stops on SIGTERM or SIGINT after the requests in flight.`,
  config: `Usage: berth config check [--config FILE]

Prints the effective configuration (file, then BERTH_* variables, then defaults) as JSON,
or one line naming the key that is wrong, with a non-zero exit.`,
  user: USER_HELP,
  version: `Usage: berth version

Prints the version.`,
};

function fail(message: string): never {
  process.stderr.write(`berth: ${message}\n`);
  process.exit(1);
}

/** Reads `--config FILE` / `--config=FILE`; refuses any other option. */
function configOption(args: string[]): string | undefined {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--config") {
      file = args[++i];
      if (file === undefined) fail("--config needs a file name");
    } else if (arg.startsWith("--config=")) {
      file = arg.slice("--config=".length);
    } else {
      fail(`unknown argument "${arg}" (see berth --help)`);
    }
  }
  return file;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP.main + "\n");
    return;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    const help = HELP[command];
    if (!help) fail(`unknown command "${command}" (see berth --help)`);
    process.stdout.write(help + "\n");
    return;
  }
  switch (command) {
    case "serve":
      return serve(configOption(rest));
    case "config": {
      const [sub, ...options] = rest;
      if (sub !== "check") fail(`unknown config command "${sub ?? ""}" (berth config check [--config FILE])`);
      return configCheck(configOption(options));
    }
    case "user":
      return userCommand(rest);
    case "version":
    case "--version":
      process.stdout.write(`berth ${VERSION}\n`);
      return;
    default:
      fail(`unknown command "${command}" (see berth --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  fail(error instanceof Error ? error.message : String(error));
});
