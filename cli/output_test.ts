import assert from "node:assert/strict";
import {
  colourWanted,
  formatAgo,
  formatClock,
  formatDuration,
  formatTimestamp,
  printer,
  statusCell,
  truncate,
} from "./output.ts";

Deno.test("colourWanted() colours a terminal only, and never with NO_COLOR or --no-color", () => {
  assert.equal(colourWanted({}, true), true);
  assert.equal(colourWanted({}, false), false, "piped output has no colour");
  assert.equal(colourWanted({ NO_COLOR: "1" }, true), false);
  assert.equal(colourWanted({ NO_COLOR: "" }, true), true, "an empty NO_COLOR does not count");
  assert.equal(colourWanted({}, true, false), false);
});

Deno.test("printer() writes ANSI colours only when colouring", () => {
  const written: string[] = [];
  const plain = printer((text) => written.push(text), false);
  plain.table(["STATUS"], [[statusCell("COMPLETED")]]);
  plain.line(plain.paint("red", 31));
  assert.equal(written.join(""), "STATUS\nCOMPLETED\nred\n");

  written.length = 0;
  const coloured = printer((text) => written.push(text), true);
  coloured.table(["STATUS"], [[statusCell("COMPENSATION_FAILED")]]);
  assert.equal(
    written.join(""),
    "\x1b[1mSTATUS             \x1b[0m\n\x1b[31mCOMPENSATION_FAILED\x1b[0m\n",
  );
});

Deno.test("printer() prints JSON that parses back", () => {
  let text = "";
  printer((t) => (text += t), true).json({ sagas: [{ status: "COMPLETED" }] });
  assert.deepEqual(JSON.parse(text), { sagas: [{ status: "COMPLETED" }] });
  assert.ok(!text.includes("\x1b"), "JSON is never coloured");
});

Deno.test("formatDuration() picks a unit for humans", () => {
  const cases: Array<[number, string]> = [
    [0, "0ms"],
    [850, "850ms"],
    [1_000, "1s"],
    [1_250, "1.25s"],
    [12_340, "12.3s"],
    [30_000, "30s"],
    [245_000, "4m05s"],
    [7_380_000, "2h03m"],
    [273_600_000, "3d04h"],
    [-1_500, "-1.5s"],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
});

Deno.test("formatAgo(), formatTimestamp() and formatClock() show UTC times", () => {
  const now = new Date("2026-01-31T12:00:00.000Z");
  assert.equal(formatAgo(new Date("2026-01-31T11:59:48.000Z"), now), "12s ago");
  assert.equal(formatAgo(new Date("2026-01-31T12:00:03.000Z"), now), "in 3s");
  assert.equal(formatTimestamp(new Date("2026-01-31T23:59:58.123Z")), "2026-01-31 23:59:58.123Z");
  assert.equal(formatClock(new Date("2026-01-31T23:59:58.123Z")), "23:59:58.123");
});

Deno.test("truncate() shortens values for tables", () => {
  assert.equal(truncate("short", 10), "short");
  assert.equal(truncate("a longer sentence", 8), "a longe…");
});
