/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (version 0.0.4). The core's series and the plugins' (through
 * `ctx.metrics`) live in one registry, so GET /metrics is one page. No dependency: the format
 * is a few lines, and the HTTP series (http-metrics.ts) keep their own allocation-free slots.
 */

export type MetricType = "counter" | "gauge" | "histogram";

import type { Counter, Gauge, Histogram, LabelValues, MetricsApi } from "../hooks/types.ts";

export type { Counter, Gauge, Histogram, LabelValues, MetricsApi };

/** Prometheus' defaults, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Series {
  labels: string;
  value: number;
  /** histograms: per-bucket counts (not cumulative) and the sum */
  buckets?: number[];
  sum?: number;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
  buckets: readonly number[];
  series: Map<string, Series>;
}

/** Something that writes its own families (the HTTP series). */
export type Exposition = (lines: string[]) => void;

export class MetricsRegistry implements MetricsApi {
  private readonly families = new Map<string, Family>();
  private readonly scrapeHooks: Array<() => void | Promise<void>> = [];
  private readonly expositions: Exposition[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const family = this.family(name, help, "counter", labelNames, []);
    return {
      inc: (labels, value = 1) => {
        if (!(value >= 0)) throw new RangeError(`Counter ${name} cannot decrease (got ${value})`);
        this.series(family, labels).value += value;
      },
    };
  }

  /** A counter kept elsewhere (the process' CPU time), read at scrape time: `set` its total. */
  sampledCounter(name: string, help: string): { set(value: number): void } {
    const family = this.family(name, help, "counter", [], []);
    return { set: (value) => void (this.series(family).value = value) };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const family = this.family(name, help, "gauge", labelNames, []);
    return {
      set: (value, labels) => {
        this.series(family, labels).value = value;
      },
      inc: (labels, value = 1) => {
        this.series(family, labels).value += value;
      },
      reset: () => family.series.clear(),
    };
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    const sorted = [...buckets].sort((a, b) => a - b);
    const family = this.family(name, help, "histogram", labelNames, sorted);
    return {
      observe: (value, labels) => {
        const series = this.series(family, labels);
        const counts = (series.buckets ??= new Array<number>(sorted.length).fill(0));
        const slot = sorted.findIndex((bound) => value <= bound);
        if (slot >= 0) counts[slot] = (counts[slot] ?? 0) + 1;
        series.value++;
        series.sum = (series.sum ?? 0) + value;
      },
    };
  }

  beforeScrape(fn: () => void | Promise<void>): void {
    this.scrapeHooks.push(fn);
  }

  /** Families written by their owner (http-metrics.ts), after the registry's own. */
  addExposition(write: Exposition): void {
    this.expositions.push(write);
  }

  /** The text exposition: every scrape hook first (a failing one leaves its gauges as they were). */
  async render(onHookError: (error: unknown) => void = () => {}): Promise<string> {
    for (const hook of this.scrapeHooks) {
      try {
        await hook();
      } catch (error) {
        onHookError(error);
      }
    }
    const lines: string[] = [];
    for (const family of this.families.values()) renderFamily(family, lines);
    for (const write of this.expositions) write(lines);
    return lines.join("\n") + "\n";
  }

  private family(name: string, help: string, type: MetricType, labelNames: readonly string[], buckets: readonly number[]): Family {
    if (!NAME.test(name)) throw new TypeError(`Metric name "${name}" is not a Prometheus name`);
    for (const label of labelNames) {
      if (!LABEL.test(label) || label.startsWith("__") || label === "le") throw new TypeError(`Label name "${label}" of ${name} is not allowed`);
    }
    const existing = this.families.get(name);
    if (existing) {
      // a plugin set up again (reload) gets its series back; two owners of one name are refused
      if (existing.type !== type || existing.labelNames.join() !== labelNames.join()) throw new TypeError(`Metric ${name} is already registered as a ${existing.type}`);
      return existing;
    }
    const family: Family = { name, help, type, labelNames: [...labelNames], buckets, series: new Map() };
    this.families.set(name, family);
    return family;
  }

  private series(family: Family, labels: LabelValues = {}): Series {
    const key = labelText(family.labelNames, labels);
    let series = family.series.get(key);
    if (!series) {
      series = { labels: key, value: 0 };
      family.series.set(key, series);
    }
    return series;
  }
}

/** `{a="1",b="2"}` in the family's label order ("" without labels); missing labels are "". */
export function labelText(names: readonly string[], labels: LabelValues): string {
  if (names.length === 0) return "";
  return `{${names.map((name) => `${name}="${escapeLabel(labels[name] ?? "")}"`).join(",")}}`;
}

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function header(lines: string[], name: string, help: string, type: MetricType): void {
  lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
}

/** A number as Prometheus reads it. */
export function sample(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Histogram lines for one series: cumulative buckets, +Inf, sum and count. */
export function histogramLines(lines: string[], name: string, labels: string, bounds: readonly number[], counts: ArrayLike<number>, sum: number, count: number): void {
  const inner = labels === "" ? "" : `${labels.slice(1, -1)},`;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += counts[i] ?? 0;
    lines.push(`${name}_bucket{${inner}le="${sample(bounds[i] as number)}"} ${cumulative}`);
  }
  lines.push(`${name}_bucket{${inner}le="+Inf"} ${count}`, `${name}_sum${labels} ${sample(sum)}`, `${name}_count${labels} ${count}`);
}

function renderFamily(family: Family, lines: string[]): void {
  header(lines, family.name, family.help, family.type);
  for (const series of family.series.values()) {
    if (family.type === "histogram") histogramLines(lines, family.name, series.labels, family.buckets, series.buckets ?? [], series.sum ?? 0, series.value);
    else lines.push(`${family.name}${series.labels} ${sample(series.value)}`);
  }
}
