/**
 * The capacity mode's chart as an SVG string: latency p50 (solid) and p99 (dashed) against
 * throughput, one colour per pipeline, latency on a log scale so the knee shows. Pure: no I/O.
 */

/** One measured point of a pipeline: its throughput (sagas/s) and latency (ms). */
export interface ChartPoint {
  throughput: number;
  p50: number;
  p99: number;
}

/** One pipeline's curve. */
export interface ChartSeries {
  name: string;
  /** An SVG colour, e.g. `#1f77b4`. */
  colour: string;
  points: ChartPoint[];
}

/** What the chart says around the curves. */
export interface ChartText {
  title: string;
  /** A second line under the title (e.g. the machine and the date). */
  subtitle?: string;
}

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 72, right: 24, top: 64, bottom: 56 };

/** The chart of `series`; a point needs a throughput ≥ 0 and latencies > 0 (else throws). */
export function latencyChart(series: readonly ChartSeries[], text: ChartText): string {
  for (const s of series) {
    for (const p of s.points) {
      if (!(p.throughput >= 0 && p.p50 > 0 && p.p99 > 0)) {
        throw new RangeError(
          `Cannot draw ${s.name}: a point needs throughput >= 0 and latencies > 0 (got ${
            JSON.stringify(p)
          })`,
        );
      }
    }
  }
  const points = series.flatMap((s) => s.points);
  const xMax = niceCeiling(Math.max(1, ...points.map((p) => p.throughput)));
  const latencies = points.flatMap((p) => [p.p50, p.p99]);
  const yMinExp = Math.floor(Math.log10(Math.min(10, ...latencies)));
  const yMaxExp = Math.max(yMinExp + 1, Math.ceil(Math.log10(Math.max(100, ...latencies))));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + (v / xMax) * plotW;
  const y = (ms: number) =>
    MARGIN.top + plotH - ((Math.log10(ms) - yMinExp) / (yMaxExp - yMinExp)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${
      escapeXml(text.title)
    }</text>`,
  ];
  if (text.subtitle !== undefined) {
    parts.push(`<text x="${MARGIN.left}" y="40" fill="#555555">${escapeXml(text.subtitle)}</text>`);
  }
  const bottom = MARGIN.top + plotH;
  for (const tick of ticks(xMax)) {
    parts.push(
      `<line x1="${f(x(tick))}" y1="${MARGIN.top}" x2="${
        f(x(tick))
      }" y2="${bottom}" stroke="#e5e5e5"/>`,
      `<text x="${f(x(tick))}" y="${bottom + 16}" text-anchor="middle">${tick}</text>`,
    );
  }
  for (let e = yMinExp; e <= yMaxExp; e++) {
    const ms = 10 ** e;
    parts.push(
      `<line x1="${MARGIN.left}" y1="${f(y(ms))}" x2="${MARGIN.left + plotW}" y2="${
        f(y(ms))
      }" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${f(y(ms) + 4)}" text-anchor="end">${msLabel(ms)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">` +
      "throughput, sagas/s (open loop, steps that kept up)</text>",
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">` +
      "latency, ms (log scale)</text>",
  );
  if (points.length === 0) {
    parts.push(
      `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" text-anchor="middle">` +
        "no step kept up</text>",
    );
  }
  series.forEach((s, i) => {
    const sorted = [...s.points].sort((a, b) => a.throughput - b.throughput);
    for (const [key, dash] of [["p50", ""], ["p99", ' stroke-dasharray="6 4"']] as const) {
      const coordinates = sorted.map((p) => `${f(x(p.throughput))},${f(y(p[key]))}`);
      parts.push(
        `<polyline data-series="${escapeXml(s.name)} ${key}" fill="none" stroke="${
          escapeXml(s.colour)
        }" stroke-width="2"${dash} points="${coordinates.join(" ")}"/>`,
        ...sorted.map((p) =>
          `<circle cx="${f(x(p.throughput))}" cy="${f(y(p[key]))}" r="3" fill="${
            escapeXml(s.colour)
          }"/>`
        ),
      );
    }
    const ly = MARGIN.top + 14 + 18 * i;
    const lx = MARGIN.left + 12;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${
        escapeXml(s.colour)
      }" stroke-width="2"/>`,
      `<line x1="${lx + 26}" y1="${ly}" x2="${lx + 48}" y2="${ly}" stroke="${
        escapeXml(s.colour)
      }" stroke-width="2" stroke-dasharray="6 4"/>`,
      `<text x="${lx + 54}" y="${ly + 4}">${escapeXml(s.name)}: p50 (solid), p99 (dashed)</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** `text` with the five XML special characters escaped. */
export function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&apos;");
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (> 0). */
export function niceCeiling(value: number): number {
  const scale = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * scale >= value)!;
  return step * scale;
}

/** Five ticks from 0 to `max` (a `niceCeiling`). */
function ticks(max: number): number[] {
  return [0, 1, 2, 3, 4, 5].map((i) => Number(((max * i) / 5).toPrecision(6)));
}

function msLabel(ms: number): string {
  return ms >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`;
}

function f(value: number): string {
  return value.toFixed(1);
}
