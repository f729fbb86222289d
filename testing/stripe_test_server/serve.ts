/**
 * Binds a Stripe test server to a local port with `Deno.serve`.
 *
 * @module
 */
import {
  createStripeTestServer,
  type StripeTestServer,
  type StripeTestServerOptions,
} from "./server.ts";

/** Options of `serveStripeTestServer()`. */
export interface ServeStripeTestServerOptions extends StripeTestServerOptions {
  /** TCP port; `0` (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** An existing server to bind instead of creating one. */
  server?: StripeTestServer;
  /** Called once listening; defaults to staying silent. */
  onListen?: (address: Deno.NetAddr) => void;
}

/** A listening test server: where it is, the server itself, and how to stop it. */
export interface ServedStripeTestServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:12111`. */
  url: string;
  hostname: string;
  port: number;
  /** The server behind the socket: records, ledger and fault controls. */
  server: StripeTestServer;
  /** Releases stalled responses, stops listening and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Starts listening; `port: 0` picks a free port, read it back from `port` or `url`. */
export function serveStripeTestServer(
  options: ServeStripeTestServerOptions = {},
): ServedStripeTestServer {
  const server = options.server ??
    createStripeTestServer({
      now: options.now,
      latencyMs: options.latencyMs,
      asyncDelayMs: options.asyncDelayMs,
      random: options.random,
    });
  const onListen = options.onListen ?? (() => {});
  const httpServer = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen,
  }, server.handler);
  const { hostname, port } = httpServer.addr;
  let closing: Promise<void> | undefined;

  function close(): Promise<void> {
    closing ??= (async () => {
      server.resetFaults();
      await httpServer.shutdown();
      await httpServer.finished;
    })();
    return closing;
  }

  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    hostname,
    port,
    server,
    close,
    [Symbol.asyncDispose]: close,
  };
}
