import assert from "node:assert/strict";
import { ORDER_SAGA } from "../../lib/order_saga/mod.ts";
import { refundFailedView } from "./fixtures.ts";
import { chooseScale, lanesOf, markKind, timelineSvg } from "./timeline_svg.ts";

Deno.test("lanesOf() lists the forward steps in order, then the compensations last first", () => {
  assert.deepEqual(lanesOf(ORDER_SAGA).map((lane) => [lane.name, lane.phase]), [
    ["ReserveInventory", "forward"],
    ["ProcessPayment", "forward"],
    ["SendNotification", "forward"],
    ["RefundPayment", "compensation"],
    ["ReleaseInventory", "compensation"],
  ]);
});

Deno.test("markKind() tells starts, replies, failures, retries and operator actions apart", () => {
  const lanes = lanesOf(ORDER_SAGA);
  assert.deepEqual(refundFailedView().timeline.map((line) => markKind(line, lanes)), [
    "start",
    "success",
    "success",
    "failure",
    "failure",
    "retry",
    "failure",
    "operator",
    "success",
    "success",
  ]);
});

Deno.test("chooseScale() is linear while lines stand apart, and keeps them apart otherwise", () => {
  const even = chooseScale([0, 100, 200, 300], 300);
  assert.equal(even.kind, "linear");
  assert.deepEqual(even.ticks.slice(0, 3), [0, 50, 100]);
  const times = [0, 32, 60, 88, 113, 1_280, 1_310, 10_500, 10_540, 10_560];
  const squeezed = chooseScale(times, 10_560);
  assert.equal(squeezed.kind, "compressed");
  for (let i = 1; i < times.length; i++) {
    const gap = squeezed.x(times[i]!) - squeezed.x(times[i - 1]!);
    assert.ok(gap >= 14, `lines ${i - 1} and ${i} are ${gap.toFixed(1)} px apart`);
  }
  for (let i = 1; i < squeezed.ticks.length; i++) {
    assert.ok(squeezed.x(squeezed.ticks[i]!) > squeezed.x(squeezed.ticks[i - 1]!), "monotonic");
  }
});

Deno.test("timelineSvg() draws a mark per line, linked to its row, and bars while steps were awaited", () => {
  const { timeline } = refundFailedView();
  const svg = timelineSvg(timeline, {
    lanes: lanesOf(ORDER_SAGA),
    now: new Date(),
    final: true,
    rowIdPrefix: "row-",
  }).text;
  assert.equal(svg.match(/<a href="#row-\d+"/g)?.length, timeline.length);
  assert.match(svg, /class="bar bar-forward"/);
  assert.match(svg, /class="bar bar-compensation"/);
  assert.match(svg, /class="bar bar-stuck"/, "the wait between COMPENSATION_FAILED and the retry");
  assert.match(svg, /<desc id="tl-desc">10 history line\(s\) over 10\.6s, ending COMPENSATED/);
  assert.match(
    timelineSvg([], { lanes: [], now: new Date(), final: true, rowIdPrefix: "" }).text,
    /No history yet/,
  );
});
