import assert from "node:assert/strict";
import { decideAdmission, RESUME_BELOW } from "./admission.ts";

Deno.test("decideAdmission() pauses new orders at the limit and resumes below its slack", () => {
  const limit = 100;
  const cases: Array<[inProgress: number, paused: boolean, expected: string]> = [
    [0, false, "keep"],
    [99, false, "keep"],
    [100, false, "pause"],
    [5_000, false, "pause"],
    [5_000, true, "keep"],
    [100, true, "keep"],
    [limit * RESUME_BELOW, true, "keep"], // not below the slack yet: no flapping
    [limit * RESUME_BELOW - 1, true, "resume"],
    [0, true, "resume"],
  ];
  for (const [inProgress, paused, expected] of cases) {
    assert.equal(
      decideAdmission(inProgress, limit, paused),
      expected,
      `${inProgress} in progress, paused: ${paused}`,
    );
  }
});
