/**
 * Robots about to expire: once a day (at start, then every 24 hours) each robot that expires
 * within 7 days is logged and emitted as an `expiring` event, so a webhook can alert before CI
 * breaks. The index remembers when a robot was announced, so a restart does not repeat it the
 * same day.
 */
import type { HookBus } from "../hooks/bus.ts";
import { buildEvent, type EventSource } from "../hooks/events.ts";
import type { Logger } from "../log.ts";
import type { Accounts } from "./accounts.ts";
import { ROBOT_PREFIX } from "./model.ts";

export const ROBOT_MEDIA_TYPE = "application/vnd.berth.robot.v1+json";
const DAY_MS = 86_400_000;

/** Announces the robots expiring soon. @returns how many */
export async function announceExpiringRobots(accounts: Accounts, bus: HookBus, source: EventSource, log: Logger): Promise<number> {
  const robots = await accounts.takeExpiring();
  for (const robot of robots) {
    const expires = new Date(robot.expiresAt ?? 0).toISOString();
    log("warn", "a robot account expires soon: rotate or replace it (berth robot create)", { robot: `${ROBOT_PREFIX}${robot.name}`, expires });
    if (!bus.listens("expiring")) continue;
    const request = { id: crypto.randomUUID(), addr: "", host: source.addr, method: "", useragent: "berth", actor: `${ROBOT_PREFIX}${robot.name}` };
    const target = { mediaType: ROBOT_MEDIA_TYPE, digest: "", size: 0, repository: "", path: `/api/v1/robots/${robot.name}` };
    await bus.emit(buildEvent(source, "expiring", target, request));
  }
  return robots.length;
}

/** Runs `announce` now and every day until the returned function is called. */
export function scheduleExpiryNotices(announce: () => Promise<number>, log: Logger, intervalMs = DAY_MS): () => void {
  const run = () => {
    announce().catch((error: unknown) => log("error", "checking robots for expiry failed", { error: String(error) }));
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
