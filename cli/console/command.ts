/**
 * `sagactl console`: the operator's views and actions as a web page on 127.0.0.1, live while
 * sagas move, until Ctrl+C (or SIGTERM).
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { examples } from "../help.ts";
import { contextBackend } from "./backend.ts";
import { createEventHub } from "./events.ts";
import { createConsoleHandler } from "./server.ts";

/** The console's default port. */
export const CONSOLE_PORT = 9100;

function parsePort(value: string): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) > 65_535) {
    throw new InvalidArgumentError("Expected a port from 0 to 65535 (0: any free port)");
  }
  return Number(trimmed);
}

/** The `console` command. */
export function consoleCommand(ctx: CliContext): Command {
  return new Command("console")
    .description(
      "Serve the operator's views and actions as a live web page on 127.0.0.1: sagas, timelines, the DLQ, retry and replay",
    )
    .addOption(
      new Option("-p, --port <port>", "the port to listen on, on 127.0.0.1 only (0: any free port)")
        .argParser(parsePort)
        .default(CONSOLE_PORT),
    )
    .addHelpText(
      "after",
      `
Pages: /sagas (filters by status and id; those needing an operator first), /sagas/<id> (the
order, the timeline drawn over time, the full history), /dlq and /dlq/<partition>:<offset>.
Retry and replay ask for confirmation and are recorded as operator:$USER, like the CLI. Pages
follow the sagas live through Redis (server-sent events); without Redis they refresh every 3 s.
${examples(["sagactl console", "sagactl console --port 9200"])}`,
    )
    .action(async (options) => {
      await ctx.db(); // fail fast, with the CLI's one line, when PostgreSQL does not answer
      const events = await createEventHub(await ctx.redis("console-events"));
      const stopped = new AbortController();
      let port = options.port;
      const handler = createConsoleHandler(contextBackend(ctx, events), {
        token: crypto.randomUUID(),
        port: () => port,
        closed: stopped.signal,
      });
      let server: Deno.HttpServer<Deno.NetAddr>;
      try {
        server = Deno.serve({
          hostname: "127.0.0.1",
          port: options.port,
          onListen: () => {},
          onError: () => new Response("Internal error\n", { status: 500 }),
        }, handler);
      } catch (error) {
        await events.close();
        throw new Error(
          `Cannot serve the console on 127.0.0.1:${options.port}: ${
            error instanceof Deno.errors.AddrInUse
              ? "the port is in use (choose another with --port)"
              : (error as Error).message
          }`,
          { cause: error },
        );
      }
      port = server.addr.port;
      ctx.io.stdout(
        `sagactl console on http://127.0.0.1:${port}/ as ${ctx.actor()}${
          events.live ? "" : " (no Redis: pages refresh every 3 s)"
        }; Ctrl+C stops\n`,
      );
      const stop = () => {
        stopped.abort();
        server.shutdown().catch(() => {});
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      try {
        await server.finished;
      } finally {
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
        await events.close();
      }
    });
}
