/** What plugins may add to GET /metrics and the audit log (re-exported by types.ts, the plugin API). */

export type LabelValues = Readonly<Record<string, string>>;

export interface Counter {
  inc(labels?: LabelValues, value?: number): void;
}
export interface Gauge {
  set(value: number, labels?: LabelValues): void;
  inc(labels?: LabelValues, value?: number): void;
  /** forgets every series (a gauge rebuilt at each scrape) */
  reset(): void;
}
export interface Histogram {
  observe(value: number, labels?: LabelValues): void;
}

/**
 * Series on GET /metrics (Prometheus names: `berth_<plugin>_...`, counters ending in `_total`).
 * Registering a name again with the same type and labels returns the same series.
 * @throws TypeError for a name or label Prometheus does not accept, or a name another owner has
 */
export interface MetricsApi {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): Histogram;
  /** runs before each scrape; set gauges from the plugin's state there */
  beforeScrape(fn: () => void | Promise<void>): void;
}

/** Values of an audit line beside who, from where and when (never a secret). */
export type AuditFields = Record<string, string | number | boolean | null>;
