import assert from "node:assert/strict";
import { escapeXml, latencyChart, niceCeiling } from "./chart.ts";

const SAGA = {
  name: "saga",
  colour: "#d62728",
  points: [
    { throughput: 100, p50: 400, p99: 2_000 },
    { throughput: 10, p50: 40, p99: 90 },
  ],
};
const BARE = { name: "bare", colour: "#1f77b4", points: [{ throughput: 400, p50: 20, p99: 60 }] };

/** The `points` attribute of the polyline of `series`, as [x, y] pairs. */
function polyline(svg: string, series: string): Array<[number, number]> {
  const match = new RegExp(`data-series="${series}"[^>]* points="([^"]*)"`).exec(svg);
  assert.ok(match, `no polyline for ${series}`);
  return match[1]!.split(" ").map((pair) => pair.split(",").map(Number) as [number, number]);
}

Deno.test("latencyChart: one p50 and one p99 polyline per pipeline, points in throughput order", () => {
  const svg = latencyChart([SAGA, BARE], { title: "Capacity", subtitle: "2 cores" });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(svg.match(/<polyline /g)?.length, 4);
  const p50 = polyline(svg, "saga p50");
  const p99 = polyline(svg, "saga p99");
  assert.equal(p50.length, 2);
  assert.ok(p50[0]![0] < p50[1]![0], "sorted by throughput");
  // SVG y grows downwards: the higher latency is drawn higher up.
  assert.ok(p99[1]![1] < p50[1]![1], "p99 above p50");
  assert.ok(p50[1]![1] < p50[0]![1], "400 ms above 40 ms");
  assert.match(svg, /stroke-dasharray="6 4" points=/);
  assert.match(svg, />2 cores</);
});

Deno.test("latencyChart: every point inside the plot area, on a log scale", () => {
  const svg = latencyChart([SAGA, BARE], { title: "t" });
  for (const series of ["saga p50", "saga p99", "bare p50", "bare p99"]) {
    for (const [x, y] of polyline(svg, series)) {
      assert.ok(x >= 72 && x <= 760 - 24, `${series}: x ${x}`);
      assert.ok(y >= 64 && y <= 440 - 56, `${series}: y ${y}`);
    }
  }
  // 40 → 400 ms is one decade; 20 ms lies log10(2) of a decade below 40 ms.
  const [low, high] = polyline(svg, "saga p50");
  const decade = low![1] - high![1];
  const bare = polyline(svg, "bare p50")[0]!;
  const expected = low![1] + decade * Math.log10(40 / 20);
  assert.ok(Math.abs(bare[1] - expected) < 0.2, `20 ms at y ${bare[1]}, expected ${expected}`);
  assert.match(svg, />10 ms</);
  assert.match(svg, />1 s</);
});

Deno.test("latencyChart: escapes text, says when there is nothing to draw, rejects bad points", () => {
  const svg = latencyChart([], { title: `a < b & "c"` });
  assert.match(svg, /a &lt; b &amp; &quot;c&quot;/);
  assert.match(svg, /no step kept up/);
  assert.throws(
    () => latencyChart([{ ...BARE, points: [{ throughput: 1, p50: 0, p99: 1 }] }], { title: "" }),
    /latencies > 0/,
  );
});

Deno.test("escapeXml and niceCeiling", () => {
  assert.equal(escapeXml(`<'&'>`), "&lt;&apos;&amp;&apos;&gt;");
  assert.equal(niceCeiling(7), 10);
  assert.equal(niceCeiling(180), 200);
  assert.equal(niceCeiling(230), 250);
  assert.equal(niceCeiling(1_055), 2_000);
  assert.equal(niceCeiling(400), 500);
  assert.equal(niceCeiling(100), 100);
});
