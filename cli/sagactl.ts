/**
 * `sagactl`: the operator CLI of the saga backend (DESIGN §8).
 *
 * Run it with `deno task sagactl <args>` (or `deno task sagactl -- <args>`), or install it on PATH with
 * `deno task sagactl:install` (`deno install -g -A -f -n sagactl --config deno.json cli/sagactl.ts`).
 * `sagactl --help` lists the commands, exit codes and configuration.
 *
 * @module
 */
import { processIo } from "./output.ts";
import { runSagactl } from "./program.ts";

export { runSagactl, SAGACTL_VERSION } from "./program.ts";

if (import.meta.main) {
  // `deno task sagactl -- saga list` passes the `--` on: drop it.
  const args = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
  Deno.exit(await runSagactl(args, processIo()));
}
