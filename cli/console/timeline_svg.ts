/**
 * A saga's timeline drawn as an inline SVG: one lane per step of the saga definition that ran
 * (forward steps, then compensations), bars while a step was awaited, a mark for each history
 * line (reply, failure, retry, operator action) linked to its row in the history table, a band
 * of the saga's status over time on top, and a time axis (linear, or with long gaps drawn
 * shorter when a linear one would squeeze the quick steps into a few pixels). Pure: data in, markup out.
 */
import type { AnySagaDefinition, ReplyDefinition } from "../../lib/saga/mod.ts";
import { formatDuration } from "../output.ts";
import type { TimelineJson } from "../saga_view.ts";
import { type Html, html } from "./html.ts";

/** A lane of the drawing: a step or a compensation of the definition. */
export interface Lane {
  name: string;
  phase: "forward" | "compensation";
  /** The reply event types that end this step or compensation. */
  replies: { success: string; failure: string };
}

/** The lanes of a definition: its forward steps in order, then its compensations, last first. */
export function lanesOf(definition: AnySagaDefinition): Lane[] {
  const replies = ({ success, failure }: ReplyDefinition<unknown>) => ({ success, failure });
  const forward: Lane[] = definition.steps.map((step) => ({
    name: step.name,
    phase: "forward",
    replies: replies(step.replies),
  }));
  const undo: Lane[] = definition.steps.flatMap((step) =>
    step.compensation === undefined ? [] : [{
      name: step.compensation.name,
      phase: "compensation" as const,
      replies: replies(step.compensation.replies),
    }]
  ).reverse();
  return [...forward, ...undo];
}

/** What a history line is, for the drawing. */
export type MarkKind = "start" | "success" | "failure" | "retry" | "operator" | "ignored" | "other";

/** Classifies one history line against the lanes. */
export function markKind(line: TimelineJson, lanes: readonly Lane[]): MarkKind {
  if (line.outcome === "ignored") return "ignored";
  if (line.actor.startsWith("operator:")) return "operator";
  if (line.fromStatus === "STARTED" || line.fromStatus === null) return "start";
  for (const lane of lanes) {
    if (lane.replies.success === line.eventType) return "success";
    if (lane.replies.failure === line.eventType) return "failure";
  }
  if (line.actor === "sweeper") return "retry";
  return "other";
}

/** Options of `timelineSvg`. */
export interface TimelineOptions {
  lanes: readonly Lane[];
  /** Now, for a saga still moving: its last bar runs until then. */
  now: Date;
  /** Whether the saga's status is final (nothing runs after the last line). */
  final: boolean;
  /** Prefix of the history rows' ids: a mark of line `n` (1-based) links to `#<prefix>n`. */
  rowIdPrefix: string;
}

const WIDTH = 960;
const LEFT = 200;
const RIGHT = 28;
const TOP = 14;
const BAND = 12;
const LANE_HEIGHT = 38;
const AXIS = 40;
const MIN_GAP_PX = 14;

/** A time axis: position of a time (ms since the first line) and the ticks to draw. */
interface Scale {
  x(ms: number): number;
  ticks: number[];
  kind: "linear" | "compressed";
}

/**
 * Chooses the axis for times `points` (ms since the first line) up to `span`: linear when every
 * two lines stand apart, else piecewise linear with each gap between lines drawn as wide as the
 * square root of its length (a long wait no longer squeezes the quick steps into a few pixels;
 * the ticks keep the true times).
 */
export function chooseScale(points: readonly number[], span: number): Scale {
  const width = WIDTH - LEFT - RIGHT;
  const total = Math.max(span, 1);
  const linear = (ms: number) => LEFT + (Math.min(ms, total) / total) * width;
  const distinct = [...new Set([0, ...points.map((p) => Math.min(p, total)), total])]
    .sort((a, b) => a - b);
  const squeezed = distinct.some((p, i) =>
    i > 0 && linear(p) - linear(distinct[i - 1]!) < MIN_GAP_PX
  );
  const ticks = linearTicks(total);
  if (!squeezed || distinct.length < 3) return { x: linear, ticks, kind: "linear" };
  const roots = distinct.slice(1).map((p, i) => Math.sqrt(p - distinct[i]!));
  const floor = roots.reduce((sum, r) => sum + r, 0) * 0.025;
  const widths = roots.map((r) => Math.max(r, floor));
  const sum = widths.reduce((a, b) => a + b, 0);
  const edges = [0];
  for (const w of widths) edges.push(edges.at(-1)! + (w / sum) * width);
  const x = (ms: number) => {
    const t = Math.max(0, Math.min(ms, total));
    let i = 1;
    while (i < distinct.length - 1 && distinct[i]! < t) i++;
    const from = distinct[i - 1]!;
    const to = distinct[i]!;
    const share = to === from ? 0 : (t - from) / (to - from);
    return LEFT + edges[i - 1]! + share * (edges[i]! - edges[i - 1]!);
  };
  const shown: number[] = [];
  for (const tick of ticks) {
    const last = shown.at(-1);
    if (last === undefined || x(tick) - x(last) >= 56) shown.push(tick);
  }
  return { x, ticks: shown, kind: "compressed" };
}

function linearTicks(total: number): number[] {
  const rough = total / 6;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? power * 10;
  const ticks: number[] = [];
  for (let t = 0; t <= total + step / 1_000; t += step) ticks.push(Math.round(t));
  return ticks;
}

/** The timeline of one saga as an `<svg>`, with a `<title>` and a `<desc>` for screen readers. */
export function timelineSvg(timeline: readonly TimelineJson[], options: TimelineOptions): Html {
  const { lanes } = options;
  if (timeline.length === 0) {
    return html`<p class="muted">No history yet.</p>`;
  }
  const start = Date.parse(timeline[0]!.at);
  const at = (line: TimelineJson) => Math.max(0, Date.parse(line.at) - start);
  const lastAt = at(timeline.at(-1)!);
  const span = options.final ? lastAt : Math.max(lastAt, options.now.getTime() - start);
  const scale = chooseScale(timeline.map(at), span);
  const kinds = timeline.map((line) => markKind(line, lanes));
  // The lane each line is drawn on: a reply on the step it answers, the rest on the saga's step.
  const laneOfLine = timeline.map((line, i) => {
    const answered = lanes.find((lane) =>
      lane.replies.success === line.eventType || lane.replies.failure === line.eventType
    );
    if (answered !== undefined && kinds[i] !== "ignored") return answered.name;
    return line.step ?? timeline[i - 1]?.step ?? null;
  });
  const used = new Set<string>();
  for (const name of laneOfLine) if (name !== null) used.add(name);
  for (const line of timeline) {
    if (line.step !== null && line.outcome === "applied") used.add(line.step);
  }
  const shown = lanes.filter((lane) => used.has(lane.name));
  for (const name of used) {
    if (!shown.some((lane) => lane.name === name)) {
      shown.push({ name, phase: "forward", replies: { success: "", failure: "" } });
    }
  }
  const laneY = new Map(shown.map((lane, i) => [lane.name, TOP + BAND + 14 + i * LANE_HEIGHT]));
  const height = TOP + BAND + 14 + shown.length * LANE_HEIGHT + AXIS;
  const axisY = height - AXIS + 6;

  const applied = timeline.map((line, i) => ({ line, i })).filter(({ line }) =>
    line.outcome === "applied"
  );
  const bars: Html[] = [];
  const band: Html[] = [];
  applied.forEach(({ line }, k) => {
    const next = applied[k + 1]?.line;
    const from = at(line);
    const to = next === undefined ? (options.final ? from : span) : at(next);
    const x1 = scale.x(from);
    const x2 = Math.max(scale.x(to), x1 + (next === undefined && options.final ? 0 : 2));
    if (x2 > x1) {
      band.push(
        html`
          <rect class="band st-${line.toStatus}" x="${fixed(x1)}" y="${TOP}" width="${fixed(
            x2 - x1,
          )}"
            height="${BAND}">
            <title>${line.toStatus} from +${formatDuration(from)}</title>
          </rect>
        `,
      );
    }
    const y = line.step === null ? undefined : laneY.get(line.step);
    if (y === undefined || (next === undefined && options.final) || x2 <= x1) return;
    const lane = shown.find((l) => l.name === line.step)!;
    const waiting = line.toStatus === "COMPENSATION_FAILED";
    bars.push(
      html`
        <rect class="bar ${waiting ? "bar-stuck" : `bar-${lane.phase}`}" x="${fixed(x1)}" y="${y -
          7}" width="${fixed(x2 - x1)}" height="14"
          rx="3">
          <title>${waiting
            ? `${line.step}: waiting for an operator`
            : `${line.step} awaited`} (+${formatDuration(from)} to +${formatDuration(to)})</title>
        </rect>
      `,
    );
  });

  const marks: Html[] = [];
  const lastLabelX = new Map<string, number>();
  timeline.forEach((line, i) => {
    const laneName = laneOfLine[i];
    const y = laneName === null ? undefined : laneY.get(laneName!);
    if (y === undefined) return;
    const x = scale.x(at(line));
    const kind = kinds[i]!;
    const n = i + 1;
    const label = `#${n} +${
      formatDuration(at(line))
    } ${line.eventType} (${line.actor}): ${line.note}`;
    const showNumber = x - (lastLabelX.get(laneName!) ?? -Infinity) >= 18;
    if (showNumber) lastLabelX.set(laneName!, x);
    marks.push(
      html`
        <a href="#${options.rowIdPrefix}${n}"
          class="mark-link"><g class="mark mark-${kind}"><title>${label}</title>${markShape(
            kind,
            x,
            y,
          )}${showNumber
            ? html`<text class="mark-number" x="${fixed(x)}" y="${
              y - 12
            }" text-anchor="middle">${n}</text>`
            : null}${kind === "operator"
            ? html`
              <text class="mark-actor" x="${fixed(x)}" y="${y + 22}"
                text-anchor="${x > WIDTH - 140 ? "end" : "middle"}">${line.actor}</text>
            `
            : null}</g></a>
      `,
    );
  });

  const ticks = scale.ticks.map((t) =>
    html`
      <g class="tick">
        <line x1="${fixed(scale.x(t))}" x2="${fixed(scale.x(t))}" y1="${TOP}" y2="${axisY - 6}" />
        <text x="${fixed(scale.x(t))}" y="${axisY + 10}" text-anchor="middle">+${formatDuration(
          t,
        )}</text>
      </g>
    `
  );
  const laneLabels = shown.map((lane) =>
    html`
      <g class="lane lane-${lane.phase}">
        <line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${laneY.get(lane.name)}" y2="${laneY.get(
          lane.name,
        )}" />
        <text x="${LEFT - 12}" y="${laneY.get(lane.name)! + 4}" text-anchor="end">${lane
          .name}${lane.phase === "compensation"
          ? html`<tspan class="lane-phase"> (undo)</tspan>`
          : null}</text>
      </g>
    `
  );
  const final = timeline.at(-1)!;
  const summary = `${timeline.length} history line(s) over ${
    formatDuration(lastAt)
  }, ending ${final.toStatus}. Steps drawn: ${
    shown.map((l) => l.name).join(", ")
  }. The history table below lists each line.`;
  return html`
    <svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" role="img"
      aria-labelledby="tl-title tl-desc" preserveAspectRatio="xMinYMin meet">
    <title id="tl-title">The saga's timeline: steps over time</title>
    <desc id="tl-desc">${summary}</desc>
    <text class="band-label" x="${LEFT - 12}" y="${TOP + BAND - 2}" text-anchor="end">status</text>
    ${ticks}
    ${laneLabels}
    ${band}
    ${bars}
    ${marks}
    <line class="axis" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${axisY - 6}" y2="${axisY - 6}"/>
    <text class="axis-label" x="${WIDTH - RIGHT}" y="${axisY +
      28}" text-anchor="end">time since the order${scale.kind === "compressed"
      ? " (long gaps drawn shorter; the ticks keep the true times)"
      : ""}</text>
    </svg>
  `;
}

function markShape(kind: MarkKind, x: number, y: number): Html {
  const cx = fixed(x);
  switch (kind) {
    case "failure":
      return html`
        <circle cx="${cx}" cy="${y}" r="7" />
        <path class="cross" d="M${fixed(x - 3.5)} ${y - 3.5}l7 7m0-7l-7 7" />
      `;
    case "operator":
      return html`
        <path d="M${cx} ${y - 8}l8 8-8 8-8-8z" />
      `;
    case "retry":
      return html`
        <path d="M${cx} ${y - 7}l7 12h-14z" />
      `;
    case "ignored":
      return html`
        <circle cx="${cx}" cy="${y}" r="4" />
      `;
    default:
      return html`
        <circle cx="${cx}" cy="${y}" r="6" />
      `;
  }
}

function fixed(n: number): string {
  return n.toFixed(1);
}
