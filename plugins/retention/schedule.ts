/**
 * Scheduled runs. Every replica has the timers; a tick runs its policy only holding the run
 * lease and only when no replica started that policy within half its period (the store's
 * `claimScheduled`): timers of replicas tick out of phase, so a policy runs once every half to
 * one period whatever the number of replicas, and exactly once a period on one process. A tick
 * that finds the lease held or the policy just run does nothing (another replica runs it).
 */
import type { PluginContext } from "../../src/hooks/types.ts";
import type { RetentionConfig } from "./config.ts";
import { type RunDeps, runExclusively, runRetention } from "./run.ts";

export function installSchedules(ctx: PluginContext, deps: RunDeps, current: () => RetentionConfig): void {
  for (const policy of current().policies) {
    if (policy.scheduleMs === null) continue;
    const periodMs = policy.scheduleMs;
    ctx.every(periodMs, async () => {
      const live = current().policies.find((p) => p.number === policy.number);
      if (!live) return;
      await runExclusively(deps, async () => {
        const now = Date.now();
        if (!(await deps.store.claimScheduled(live.number, now, periodMs / 2))) return null;
        return runRetention(deps, { now, trigger: `schedule (policy ${live.number})`, dryRun: false, policies: [live] });
      });
    });
  }
}
