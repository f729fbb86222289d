import assert from "node:assert/strict";
import { formatTable } from "./table.ts";

Deno.test("formatTable() pads every column to its widest cell", () => {
  assert.equal(
    formatTable(["STATUS", "N"], [["COMPLETED", "12"], ["FAILED", "3"]]),
    ["STATUS     N", "COMPLETED  12", "FAILED     3"].join("\n"),
  );
});

Deno.test("formatTable() colours cells only when asked", () => {
  const rows = [[{ text: "ok", colour: 32 }, "x"]];
  assert.equal(formatTable(["A", "B"], rows), "A   B\nok  x");
  assert.equal(
    formatTable(["A", "B"], rows, { colour: true }),
    "\x1b[1mA \x1b[0m  \x1b[1mB\x1b[0m\n\x1b[32mok\x1b[0m  x",
  );
});
