/**
 * Smoke test of the benchmark harness (bench/): a tiny run against Berth only, checking the
 * shape of what it writes, plus the output parsers. No timing is asserted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { runBench, writeResults } from "../../bench/bench.ts";
import { quickConfig } from "../../bench/config.ts";
import { parseDd } from "../../bench/disk.ts";
import { median, percentile } from "../../bench/measure.ts";
import type { BenchResult } from "../../bench/types.ts";
import { parseWrk } from "../../bench/wrk.ts";
import { berthCommand, removeDir, tempDir } from "../helpers/server.ts";

const work = tempDir("berth-bench-smoke-");
afterAll(() => removeDir(work));

describe("bench harness", () => {
  test("a tiny run against Berth and the bare Bun server writes JSON, Markdown and SVG of the expected shape", async () => {
    const config = quickConfig();
    config.targets = ["berth", "bare"];
    config.groups = ["env", "push-mono", "push-image", "push-docker-pattern", "manifest", "index"];
    config.mode = "custom";
    config.berthCommand = berthCommand();
    config.pushSizes = [{ bytes: 64 * 1024, ops: 2 }];
    config.imagePush = { layerBytes: 64 * 1024, clients: 2, ops: 4 };
    config.dockerPattern = { ops: 1, maxLayerBytes: 64 * 1024 };
    config.gc = { blobs: 90, unreferenced: 9 };
    config.rebuildRepos = 20;
    config.manifestConcurrency = [2];
    config.manifestDurationSec = 0.3;
    config.warmupSec = 0;
    config.client = "bun";
    config.ddCountMiB = 1;
    config.ddRuns = 1;
    config.startRuns = 1;
    config.workDir = work;
    config.outDir = `${work}/results`;
    const lines: string[] = [];
    const result = await runBench(config, (line) => lines.push(line));
    expect(result.failures).toEqual([]);
    const paths = writeResults(result, config.outDir);
    for (const path of paths) expect(existsSync(path)).toBe(true);

    const json = JSON.parse(readFileSync(`${config.outDir}/latest.json`, "utf8")) as BenchResult;
    expect(json.schema).toBe("berth-bench/1");
    expect(json.machine.nproc).toBeGreaterThan(0);
    expect(json.reference.ddRuns).toHaveLength(1);
    const ids = json.workloads.map((w) => w.id);
    expect(ids).toEqual(
      expect.arrayContaining(["start", "push-mono-64KiB", "push-image-64KiB-c2", "push-docker-pattern", "manifest-get-tag-c2", "manifest-head-digest-c2", "gc-90", "index-rebuild-20"]),
    );
    // the bare server runs only its rows: start-up and manifest GET by tag at the most connections
    const bareRows = json.workloads.filter((w) => w.results.bare !== undefined).map((w) => w.id);
    expect(bareRows.toSorted()).toEqual(["manifest-get-tag-c2", "start"]);
    expect(json.targets.find((t) => t.id === "start-bare")?.value).toBeGreaterThan(0);
    expect(json.targets.find((t) => t.id === "manifest-get-bare")?.value).toBeGreaterThan(0);
    const pattern = json.workloads.find((w) => w.id === "push-docker-pattern")?.results.berth;
    expect(pattern?.tool).toBe("bun-raw");
    expect(pattern?.bytes).toBeGreaterThan(4 * 64 * 1024); // five layers cut to 64 KiB, config, manifest
    for (const w of json.workloads) {
      const m = w.results.berth;
      expect(m).toBeDefined();
      expect(w.results.distribution).toBeUndefined();
      expect(m?.ops).toBeGreaterThan(0);
      expect(m?.errors).toBe(0);
      expect(typeof m?.p50Ms).toBe("number");
    }
    const push = json.workloads.find((w) => w.id === "push-mono-64KiB")?.results.berth;
    expect(push?.bytes).toBeGreaterThanOrEqual(2 * 64 * 1024);
    expect(push?.tool).toBe("bun-fetch");
    const images = json.workloads.find((w) => w.id === "push-image-64KiB-c2")?.results.berth;
    expect(images?.ops).toBe(4);
    expect(images?.bytes).toBeGreaterThanOrEqual(4 * 64 * 1024); // every client's bytes counted
    // GC and rebuild run as offline commands; the rebuild has no Distribution counterpart to divide by
    expect(json.workloads.find((w) => w.id === "gc-90")?.results.berth?.tool).toBe("cli");
    expect(json.workloads.find((w) => w.id === "index-rebuild-20")?.comparable).toBe(false);
    expect(json.targets.map((t) => t.id)).toContain("manifest-head-c64");
    expect(json.targets.find((t) => t.id === "start")?.pass).not.toBeNull();

    const md = readFileSync(`${config.outDir}/latest.md`, "utf8");
    expect(md).toContain("| workload | Berth | Distribution | ratio | bare Bun | ÷ bare | unit | target | pass | note |");
    expect(md).toContain("monolithic push 64 KiB");
    const svg = readFileSync(`${config.outDir}/latest.svg`, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  test("parsers read wrk and dd output", () => {
    const wrk = parseWrk(`Running 1s test @ http://127.0.0.1:1/v2/
  2 threads and 64 connections
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.50ms
     99%    3.20ms
  21000 requests in 1.00s, 9.80MB read
  Non-2xx or 3xx responses: 10
Requests/sec:  20990.00
`);
    expect(wrk).toEqual({ requests: 20990, errors: 10, p50Ms: 0.812, p99Ms: 3.2, durationSec: 1 });
    expect(parseDd("268435456 bytes (268 MB, 256 MiB) copied, 0.5 s, 537 MB/s\n")).toBeCloseTo(536.87, 1);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(median([5, 1, 3])).toBe(3);
  });
});
