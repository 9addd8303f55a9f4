/**
 * Number formatting and metric metadata shared by the Markdown table and the SVG chart.
 */
import type { MachineInfo, MetricKey } from "./types.ts";

export const METRIC_UNITS: Record<MetricKey, string> = {
  opsPerSec: "ops/s",
  mbPerSec: "MB/s",
  p50Ms: "ms p50",
  p99Ms: "ms p99",
  wallSec: "s wall",
  serverCpuSec: "s server CPU",
  serverPeakRssMb: "MB server peak RSS",
  clientCpuSec: "s client CPU",
};

/** Whether a bigger number is better for Berth. */
export function higherIsBetter(metric: MetricKey): boolean {
  return metric === "opsPerSec" || metric === "mbPerSec";
}

/** Three significant digits, no exponent; "—" for a missing value. */
export function num(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return "0";
  return value.toPrecision(3);
}

export function times(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "—" : `${num(value)}×`;
}

export function machineLine(machine: MachineInfo): string {
  return `${machine.nproc} × ${machine.cpuModel}, ${machine.memTotalGiB} GiB RAM, Linux ${machine.kernel}`;
}
