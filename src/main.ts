#!/usr/bin/env bun
/** The berth command: the only file with side effects at import. */
import { BACKUP_HELP, backupCommand, restoreCommand } from "./cli/backup.ts";
import { configCheck, configConvert } from "./cli/config.ts";
import { FSCK_HELP, fsckCommand } from "./cli/fsck.ts";
import { INDEX_HELP, indexCommand } from "./cli/index-command.ts";
import { REPO_HELP, repoCommand } from "./cli/repo.ts";
import { GC_HELP, gcCommand } from "./cli/gc.ts";
import { MIGRATE_HELP, migrateCommand } from "./cli/migrate.ts";
import { RETENTION_HELP, retentionCommand, tagCommand } from "./cli/retention.ts";
import { serve } from "./cli/serve.ts";
import { USER_HELP, userCommand } from "./cli/user.ts";
import { VERIFY_HELP, verifyCommand } from "./cli/verify.ts";
import { NS_HELP, nsCommand } from "./cli/ns.ts";
import { ROBOT_HELP, robotCommand } from "./cli/robot.ts";
import { VERSION } from "./version.ts";

const HELP: Record<string, string> = {
  main: `berth ${VERSION}: a container-image registry in one executable

Usage:
  berth serve [--config FILE]          run the registry
  berth config check [--config FILE] [--json]
                                       run serve's checks; print the configuration or the error
  berth config convert CONFIG.YML      print the registry.toml for a registry:2 config.yml
  berth user add|remove|list [NAME]    manage the users of [auth] htpasswd
  berth robot create|list|disable|enable|delete|rotate [NAME]
                                       robot accounts for CI (robot$NAME), in the index
  berth ns create|list|show|delete|anonymous|member ...
                                       namespaces and their members' roles
  berth index rebuild [--config FILE]  build the metadata index again from the storage
  berth fsck [--repair] [--config FILE]
                                       check the storage against the index and every blob
  berth repo delete NAME [--config FILE]
                                       delete a whole repository
  berth gc [--dry-run] [--config FILE] delete unreferenced blobs now (a server does it itself)
  berth retention preview|run|runs     what [retention] policies delete, and delete it
  berth tag restore NAME:TAG           undo a tag's removal by retention
  berth backup --out FILE|- [--config FILE]
                                       a point-in-time tar of every image, while serving
  berth restore FILE --root DIR        unpack a backup into a new storage root
  berth migrate --to FILE [--storage-only|--metadata-only] [--dry-run] [--config FILE]
                                       copy the storage and index to another configuration's
                                       (filesystem -> S3, SQLite -> PostgreSQL: scale-out)
  berth verify REPO@DIGEST|REPO:TAG [--json] [--config FILE]
                                       check a manifest's signatures against [[signing.policies]]
  berth version                        print the version
  berth <command> --help               help on a command

Configuration: --config FILE, else $BERTH_CONFIG, else $REGISTRY_CONFIGURATION_PATH, else
./registry.toml if present, else built-in defaults (port 5000, data in ./data). The file is
Berth's registry.toml or registry:2's config.yml. REGISTRY_* variables work as in registry:2;
BERTH_* variables set any key and win, e.g. BERTH_HTTP_ADDR=127.0.0.1:5000.

index, fsck, repo, gc, verify, robot and ns work on the storage the configuration names,
without credentials. When a server runs on it, they ask that server through its admin socket
(<storage.root>/berth/admin.sock, only the server's user may connect); otherwise they lock
the storage root and work on it themselves.`,
  serve: `Usage: berth serve [--config FILE]

Runs the registry. Stops on SIGTERM or SIGINT after the requests in flight. SIGHUP reloads
the users file, access rules, webhook endpoints, retention, immutability and quota rules,
signing policies with their key and root files, [ui], http.headers and the TLS certificate.
With the filesystem driver it holds <storage.root>/berth/lock and answers the admin commands
(berth gc, index rebuild, fsck --repair, repo delete) on <storage.root>/berth/admin.sock.`,
  config: `Usage:
  berth config check [--config FILE] [--json]
  berth config convert CONFIG.YML

check runs every check serve runs (address, storage root, TLS key pair, users file, rules,
plugins) and prints the effective configuration (defaults, then the file, then REGISTRY_* and
BERTH_* variables) with secrets shown as "<redacted>"; or one line naming what is wrong, with
a non-zero exit. --json prints {"valid": ..., "config": ...} or {"valid": false, "error": ...}.

convert prints the registry.toml equivalent of a registry:2 config.yml, with a comment for
each key that has no effect in Berth.`,
  user: USER_HELP,
  robot: ROBOT_HELP,
  ns: NS_HELP,
  index: INDEX_HELP,
  fsck: FSCK_HELP,
  repo: REPO_HELP,
  gc: GC_HELP,
  retention: RETENTION_HELP,
  tag: RETENTION_HELP,
  verify: VERIFY_HELP,
  backup: BACKUP_HELP,
  restore: BACKUP_HELP,
  migrate: MIGRATE_HELP,
  version: `Usage: berth version

Prints the version.`,
};

function fail(message: string): never {
  process.stderr.write(`berth: ${message}\n`);
  process.exit(1);
}

/** Reads `--config FILE` / `--config=FILE` (and the flags allowed); refuses any other option. */
function configOption(args: string[], flags: string[] = []): string | undefined {
  const { file, rest } = withoutConfig(args);
  const unknown = rest.find((arg) => !flags.includes(arg));
  if (unknown !== undefined) fail(`unknown argument "${unknown}" (see berth --help)`);
  return file;
}

/** Takes `--config FILE` / `--config=FILE` out of `args`; the rest is the command's. */
function withoutConfig(args: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--config") {
      file = args[++i];
      if (file === undefined) fail("--config needs a file name");
    } else if (arg.startsWith("--config=")) {
      file = arg.slice("--config=".length);
    } else {
      rest.push(arg);
    }
  }
  return { file, rest };
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
      if (sub === "check") return configCheck(configOption(options, ["--json"]), options.includes("--json"));
      if (sub === "convert") {
        if (options.length !== 1 || (options[0] as string).startsWith("-")) fail("berth config convert takes one file: berth config convert CONFIG.YML");
        return configConvert(options[0] as string);
      }
      fail(`unknown config command "${sub ?? ""}" (berth config check|convert)`);
    }
    case "user":
      return userCommand(rest);
    case "robot": {
      const { file, rest: args } = withoutConfig(rest);
      return robotCommand(args, file);
    }
    case "ns": {
      const { file, rest: args } = withoutConfig(rest);
      return nsCommand(args, file);
    }
    case "index": {
      const { file, rest: args } = withoutConfig(rest);
      return indexCommand(args, file);
    }
    case "fsck": {
      const { file, rest: args } = withoutConfig(rest);
      process.exit(await fsckCommand(args, file));
    }
    case "repo": {
      const { file, rest: args } = withoutConfig(rest);
      return repoCommand(args, file);
    }
    case "retention": {
      const { file, rest: args } = withoutConfig(rest);
      return retentionCommand(args, file);
    }
    case "tag": {
      const { file, rest: args } = withoutConfig(rest);
      return tagCommand(args, file);
    }
    case "verify": {
      const { file, rest: args } = withoutConfig(rest);
      process.exit(await verifyCommand(args, file));
    }
    case "backup": {
      const { file, rest: args } = withoutConfig(rest);
      return backupCommand(args, file);
    }
    case "restore": {
      const { file, rest: args } = withoutConfig(rest);
      return restoreCommand(args, file);
    }
    case "migrate": {
      const { file, rest: args } = withoutConfig(rest);
      process.exit(await migrateCommand(args, file));
    }
    case "gc":
      return gcCommand(configOption(rest, ["--dry-run"]), rest.includes("--dry-run"));
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
