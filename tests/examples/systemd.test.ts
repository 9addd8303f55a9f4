/**
 * examples/systemd/berth.service is a unit systemd accepts (systemd-analyze verify), hardened
 * as the README says, reloading with SIGHUP.
 */
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berthCommand, removeDir, repoRoot, tempDir } from "../helpers/server.ts";

const unit = readFileSync(join(repoRoot, "examples/systemd/berth.service"), "utf8");

test("the unit is hardened and reloads with SIGHUP", () => {
  for (const line of ["DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ExecReload=/bin/kill -HUP $MAINPID", "Type=simple", "AmbientCapabilities=CAP_NET_BIND_SERVICE"]) {
    expect(unit.split("\n")).toContain(line);
  }
  expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/berth/m);
});

const analyze = Bun.which("systemd-analyze");
if (analyze === null) console.warn("SKIPPED: systemd-analyze is not installed (Debian package systemd): the unit file is not verified");
test.skipIf(analyze === null)("systemd-analyze verify accepts the unit (with this build as the binary)", () => {
  const dir = tempDir("berth-systemd-");
  try {
    const binary = berthCommand()[0] as string;
    const file = join(dir, "berth.service");
    writeFileSync(file, unit.replaceAll("/usr/local/bin/berth", binary));
    const result = Bun.spawnSync([analyze as string, "verify", file], { stdout: "pipe", stderr: "pipe" });
    expect(`${result.stdout.toString()}${result.stderr.toString()}`.trim()).toBe("");
    expect(result.exitCode).toBe(0);
  } finally {
    removeDir(dir);
  }
});
