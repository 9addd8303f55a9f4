/**
 * The failed-login limits hold when the guesses arrive in parallel: a real Berth process, 300
 * simultaneous wrong passwords from one address, counted by answers (401 = checked, 429 =
 * refused unchecked) and by "login failed" log lines. A low bcrypt cost keeps it quick.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, basicHeader, send, startAuthBerth } from "../helpers/auth.ts";
import { waitForOutput, withServerLog } from "../helpers/server.ts";

const FAILURES = 3;
const CONFIG = `
[auth]
htpasswd = "htpasswd"
mode = "basic"

[auth.throttle]
failures = ${FAILURES}
lockout = "1m"
`;

let berth: AuthBerth | undefined;

async function start(): Promise<AuthBerth> {
  const hash = await Bun.password.hash("right-pw", { algorithm: "bcrypt", cost: 4 });
  berth = await startAuthBerth({ config: CONFIG, prepare: (root) => writeFileSync(join(root, "htpasswd"), `alice:${hash}\n`, { mode: 0o600 }) });
  return berth;
}

afterEach(async () => {
  await berth?.stop();
  berth = undefined;
});

/** Sends all requests at once; returns how many answers had each status. */
async function parallel(server: AuthBerth, users: string[]): Promise<Map<number, number>> {
  const statuses = await Promise.all(users.map((user) => send(server, "/v2/", { headers: { Authorization: basicHeader(user, "wrong") } }).then((r) => r.status)));
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return counts;
}

function failedChecks(output: string): number {
  return output.split("\n").filter((line) => line.includes("login failed")).length;
}

describe("failed-login limits under parallel guesses", () => {
  // Checks in flight count against the limits, so the count is exact however the requests interleave.
  test.each([
    ["300 names from one address (the address's limit, ten times `failures`)", (i: number) => `user${i}`, FAILURES * 10],
    ["one name (the name's limit, `failures`)", () => "alice", FAILURES],
  ])("300 parallel wrong passwords for %s are checked exactly %i times", (_who, user, limit) =>
    withServerLog(() => [berth], async () => {
      const server = await start();
      const counts = await parallel(server, Array.from({ length: 300 }, (_, i) => user(i)));
      expect(counts.get(401) ?? 0).toBe(limit);
      expect(counts.get(429) ?? 0).toBe(300 - limit);
      // one "login failed" line per check: lines arrive through a pipe
      await waitForOutput(server, (output) => failedChecks(output) >= limit, 5_000);
      expect(failedChecks(server.output())).toBe(limit);
    })(),
    60_000,
  );

  test(
    "parallel requests with the right password all pass (a push sends several at once)",
    withServerLog(() => [berth], async () => {
      const server = await start();
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => send(server, "/v2/", { headers: { Authorization: basicHeader("alice", "right-pw") } })),
      );
      expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200));
    }),
    60_000,
  );
});
