/**
 * `deno task dev`: infrastructure up, migrations, seed, then the Stripe test server (unless
 * STRIPE_SECRET_KEY is set) and the four services as separate processes with prefixed,
 * coloured logs. Ctrl+C stops them all cleanly.
 */
import { prepareInfra, projectEnv } from "./prepare.ts";
import { serviceSpecs, startStack } from "../testing/supervisor.ts";

if (import.meta.main) {
  const env = projectEnv();
  await prepareInfra(env);
  const stack = await startStack(serviceSpecs(env), { env });
  console.log("All services ready. Try: deno task sagactl order create --wait   (Ctrl+C stops)");
  const stopped = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stopped.resolve());
  }
  await stopped.promise;
  console.log("Stopping the services…");
  await stack.stop();
}
