/** The metrics registry's text format, Distribution's handler names, and the backup tar round trip. */
import { expect, test } from "bun:test";
import { readTar, tarStream, type TarEntry } from "../../src/backup/tar.ts";
import { v2HandlerOf } from "../../src/metrics/http-metrics.ts";
import { MetricsRegistry } from "../../src/metrics/registry.ts";

test("counters, gauges and histograms render as Prometheus text; bad names and negative counts are refused", async () => {
  const metrics = new MetricsRegistry();
  metrics.counter("t_total", "A count.", ["kind"]).inc({ kind: 'a"b\\c' }, 2);
  metrics.gauge("t_gauge", "A gauge.").set(1.5);
  metrics.histogram("t_seconds", "Times.", [], [0.1, 1]).observe(0.5);
  const page = await metrics.render();
  expect(page).toContain('t_total{kind="a\\"b\\\\c"} 2\n');
  expect(page).toContain("t_gauge 1.5\n");
  expect(page).toContain('t_seconds_bucket{le="0.1"} 0\nt_seconds_bucket{le="1"} 1\nt_seconds_bucket{le="+Inf"} 1\nt_seconds_sum 0.5\nt_seconds_count 1\n');
  expect(() => metrics.counter("bad-name", "x")).toThrow(TypeError);
  expect(() => metrics.gauge("t_total", "x", ["kind"])).toThrow("already registered");
  expect(() => metrics.counter("t_total", "A count.", ["kind"]).inc({}, -1)).toThrow(RangeError);
});

test("/v2/ paths get Distribution's handler names, read from the end", () => {
  expect(v2HandlerOf("/v2/")).toBe("base");
  expect(v2HandlerOf("/v2/_catalog")).toBe("catalog");
  expect(v2HandlerOf("/v2/a/manifests/tags/list")).toBe("tags");
  expect(v2HandlerOf("/v2/a/blobs/uploads/")).toBe("blob_upload");
  expect(v2HandlerOf("/v2/a/blobs/uploads/0f1e")).toBe("blob_upload_chunk");
  expect(v2HandlerOf("/v2/blobs/manifests/latest")).toBe("manifest");
  expect(v2HandlerOf("/v2/manifests/blobs/sha256:00")).toBe("blob");
  expect(v2HandlerOf("/v2/a/referrers/sha256:00")).toBe("referrers");
});

test("a tar written by tarStream reads back, long paths included", async () => {
  const long = `docker/registry/v2/repositories/${"deep/".repeat(40)}app/_manifests/tags/v1/current/link`;
  const big = new Uint8Array(70_000).map((_, i) => i % 251);
  const files: TarEntry[] = [
    { path: "docker/registry/v2/a", size: 3, body: () => new TextEncoder().encode("abc") },
    { path: long, size: big.byteLength, body: () => new Blob([big]).stream() },
    { path: "docker/registry/v2/empty", size: 0, body: () => new Uint8Array(0) },
  ];
  async function* entries() {
    yield* files;
  }
  const read: Array<{ path: string; bytes: number[] }> = [];
  await readTar(tarStream(entries()), async (path, _size, body) => {
    const bytes: number[] = [];
    await body((chunk) => void bytes.push(...chunk));
    read.push({ path, bytes });
  });
  expect(read.map((file) => file.path)).toEqual(files.map((file) => file.path));
  expect(read[0]?.bytes).toEqual([97, 98, 99]);
  expect(read[1]?.bytes).toEqual([...big]);
  expect(read[2]?.bytes).toEqual([]);
});
