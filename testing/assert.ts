/** Assertion helpers that `node:assert/strict` lacks. */
import assert from "node:assert/strict";

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("Expected the call to be rejected");
}
