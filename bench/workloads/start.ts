/**
 * Start time: exec of the registry to the first 200 on GET /v2/, over several fresh starts
 * (each with an empty data directory); also the idle RSS right after start.
 */
import { MB, statusBytes, toMeasurement } from "../measure.ts";
import { startServer } from "../servers.ts";
import type { WorkloadGroup } from "./common.ts";

export const start: WorkloadGroup = {
  name: "env",
  title: "Start-up",
  bare: true,
  async run(ctx) {
    const startMs: number[] = [];
    let idleRss = 0;
    for (let i = 0; i < ctx.config.startRuns; i++) {
      const server = await startServer(ctx.target, ctx.config);
      startMs.push(server.startMs);
      idleRss = Math.max(idleRss, statusBytes(server.pid, "VmRSS"));
      await server.stop();
    }
    const wallSec = startMs.reduce((a, b) => a + b, 0) / 1000;
    const measurement = toMeasurement(
      {
        ops: startMs.length,
        bytes: 0,
        latenciesMs: startMs,
        errors: 0,
        tool: "spawn",
        clientCoreCap: 1,
        note: `runs: ${startMs.map((ms) => ms.toFixed(0)).join(", ")} ms; RSS is idle RSS after start (${(idleRss / MB).toFixed(1)} MB)`,
      },
      wallSec,
      Number.NaN,
      idleRss,
      Number.NaN,
    );
    ctx.record(
      {
        id: "start",
        label: "exec → first 200 on /v2/",
        op: "spawn the binary with an empty root, poll GET /v2/ every 2 ms until 200",
        metrics: ["p50Ms", "p99Ms", "serverPeakRssMb"],
      },
      measurement,
    );
  },
};
