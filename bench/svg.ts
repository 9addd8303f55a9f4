/**
 * One hand-written SVG bar chart: per workload, Berth ÷ Distribution of its first metric, on a
 * log scale centred on 1×, green where Berth is better, red where worse, with target ticks.
 */
import { METRIC_UNITS, higherIsBetter, machineLine, times } from "./format.ts";
import { ratio } from "./targets.ts";
import type { BenchResult } from "./types.ts";

const WIDTH = 1000;
const LABEL_W = 360;
const PLOT_W = 560;
const ROW_H = 22;
const TOP = 84;
const TICKS = [0.001, 0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000, 10_000];

/** A log scale from the decade below the smallest value to the decade above the largest. */
function scale(values: readonly number[]): { x: (v: number) => number; ticks: number[] } {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log10);
  const lo = Math.max(-3, Math.min(-1, Math.floor(Math.min(0, ...logs))));
  const hi = Math.min(4, Math.max(2, Math.ceil(Math.max(0, ...logs))));
  const x = (v: number) => {
    const l = Math.min(hi, Math.max(lo, Math.log10(v)));
    return LABEL_W + ((l - lo) / (hi - lo)) * PLOT_W;
  };
  return { x, ticks: TICKS.filter((t) => Math.log10(t) >= lo && Math.log10(t) <= hi) };
}

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function text(px: number, py: number, body: string, attrs = ""): string {
  return `<text x="${px.toFixed(1)}" y="${py.toFixed(1)}" ${attrs}>${esc(body)}</text>`;
}

export function renderSvg(result: BenchResult): string {
  const rows = result.workloads.filter((w) => w.metrics.length > 0);
  const ratios = rows.map((w) => (w.metrics[0] ? ratio(w, w.metrics[0]) : null));
  const limits = result.targets.map((t) => Number(/([\d.]+)×$/.exec(t.threshold)?.[1] ?? Number.NaN));
  const { x, ticks } = scale([...ratios, ...limits].filter((v): v is number => v !== null));
  const height = TOP + rows.length * ROW_H + 60;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(16, 24, `Berth ÷ Distribution 2.8.2 (${result.mode} run, ${result.startedAt})`, 'font-size="16" font-weight="bold"'),
    text(16, 44, machineLine(result.machine), 'fill="#444"'),
    text(16, 62, "Log scale. Green: Berth better on that metric; red: worse. Black tick: target.", 'fill="#444"'),
  ];
  const bottom = TOP + rows.length * ROW_H;
  for (const tick of ticks) {
    const tx = x(tick);
    const stroke = tick === 1 ? "#000" : "#ddd";
    out.push(`<line x1="${tx.toFixed(1)}" y1="${TOP - 4}" x2="${tx.toFixed(1)}" y2="${bottom}" stroke="${stroke}"/>`);
    out.push(text(tx, bottom + 16, `${tick}×`, 'text-anchor="middle" fill="#444"'));
  }
  rows.forEach((w, i) => {
    const metric = w.metrics[0];
    if (!metric) return;
    const y = TOP + i * ROW_H;
    const r = ratios[i] ?? null;
    const rowTargets = result.targets.flatMap((t, k) => {
      const limit = limits[k];
      return t.workloadId === w.id && t.metric === metric && limit !== undefined && Number.isFinite(limit)
        ? [{ tx: x(limit), title: `${t.description} ${t.threshold}` }]
        : [];
    });
    out.push(text(LABEL_W - 8, y + 14, `${w.label} (${METRIC_UNITS[metric]})`, 'text-anchor="end"'));
    if (r === null) {
      out.push(text(x(1) + 6, y + 14, "n/a", 'fill="#888"'));
    } else {
      const better = higherIsBetter(metric) ? r >= 1 : r <= 1;
      const x0 = Math.min(x(1), x(r));
      const w0 = Math.max(1, Math.abs(x(r) - x(1)));
      out.push(`<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${w0.toFixed(1)}" height="${ROW_H - 6}" fill="${better ? "#2e9d4f" : "#d0453a"}"/>`);
      // the value label goes past the bar and past any target tick so neither hides it
      const ends = [x(r), ...rowTargets.map((t) => t.tx)];
      const labelX = r >= 1 ? Math.max(...ends) + 5 : Math.min(...ends) - 5;
      out.push(text(labelX, y + 14, times(r), r >= 1 ? "" : 'text-anchor="end"'));
    }
    for (const { tx, title } of rowTargets) {
      const at = tx.toFixed(1);
      out.push(`<line x1="${at}" y1="${y + 1}" x2="${at}" y2="${y + ROW_H - 1}" stroke="#000" stroke-width="3"><title>${esc(title)}</title></line>`);
    }
  });
  out.push(text(x(1), bottom + 34, "Berth ÷ Distribution", 'text-anchor="middle" fill="#444"'));
  out.push("</svg>", "");
  return out.join("\n");
}
