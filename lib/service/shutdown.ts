/** Process lifecycle for service entry points: shutdown signals and a one-line fatal error. */
import process from "node:process";
import { ConfigError, errorMessage } from "../errors/mod.ts";

/**
 * Resolves with the signal's name on the first SIGINT or SIGTERM, so the service can drain;
 * a second signal exits at once with code 130 (two-stage shutdown).
 */
export function onShutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: string) => {
      if (received) {
        console.error(`Received ${signal} again: exiting without draining`);
        process.exit(130);
      }
      received = true;
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** Runs an entry point; any error it throws is printed as one line and exits with code 1. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      const prefix = error instanceof ConfigError ? "" : "Fatal: ";
      console.error(`${prefix}${errorMessage(error).replace(/\s*\n\s*/g, " ")}`);
      process.exit(1);
    },
  );
}
