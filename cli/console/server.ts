/**
 * The console's HTTP side: routes to pages, the confirmation step of each action (a one-time
 * nonce per confirmation page, so a second submit of the same form is refused), and the guards
 * every request passes: the Host must be the console's own (no DNS rebinding), a POST must come
 * from the console's origin and carry the process's token. Errors become a page with the right
 * status and the CLI's one-line message, never a stack trace.
 */
import { EVENTS, isEventType } from "../../lib/messages/mod.ts";
import { SAGA_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import { DLQ_TOPIC } from "../../lib/kafka/dlq.ts";
import { describeError, UsageError } from "../errors.ts";
import { formatDuration } from "../output.ts";
import { parseDlqRef, parseUuid } from "../parse.ts";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets.ts";
import type { ConsoleBackend, DlqRef } from "./backend.ts";
import { eventStream } from "./events.ts";
import type { Html } from "./html.ts";
import {
  confirmPage,
  dlqListPage,
  dlqRecordPage,
  errorPage,
  sagaListLive,
  sagaListPage,
  sagaLive,
  sagaPage,
  type SagaPageView,
} from "./pages.ts";

/** How many sagas the list shows. */
export const SAGA_LIST_LIMIT = 100;
/** How many DLQ records the DLQ page shows. */
export const DLQ_LIST_LIMIT = 50;
/** How long a confirmation page stays valid. */
export const CONFIRM_TTL_MS = 15 * 60_000;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Options of `createConsoleHandler`. */
export interface ConsoleHandlerOptions {
  /** The per-process token every form carries. */
  token: string;
  /** The port the console listens on (known once it listens). */
  port: () => number;
  /** Aborted when the console stops: the event streams end. */
  closed: AbortSignal;
}

/** A page that answers a request with `status`. */
class PageError extends Error {
  constructor(readonly status: number, readonly title: string, message: string) {
    super(message);
  }
}

interface Confirmation {
  action: "retry" | "replay";
  target: string;
  issuedAt: number;
  usedAt: number | null;
}

/** The status a failed read or action answers with, from the CLI's error. */
export function statusOf(error: unknown): number {
  if (error instanceof PageError) return error.status;
  if (error instanceof UsageError) return 400;
  const message = error instanceof Error ? error.message : String(error);
  if (/^No saga has |^Cannot find |: no record$/.test(message)) return 404;
  if (/^Cannot (retry|replay) /.test(message)) return 409;
  if (/^Cannot reach /.test(message)) return 503;
  return 500;
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  403: "Refused",
  404: "Not found",
  405: "Method not allowed",
  409: "Refused",
  413: "Too large",
  500: "Something went wrong",
  503: "A service is unreachable",
};

/** The console's request handler. */
export function createConsoleHandler(
  backend: ConsoleBackend,
  options: ConsoleHandlerOptions,
): (request: Request) => Promise<Response> {
  const confirmations = new Map<string, Confirmation>();
  const eventTypes = Object.keys(EVENTS).filter(isEventType).sort();

  function issue(action: Confirmation["action"], target: string): string {
    const now = Date.now();
    for (const [nonce, c] of confirmations) {
      if (now - c.issuedAt > CONFIRM_TTL_MS * 2) confirmations.delete(nonce);
    }
    if (confirmations.size > 5_000) confirmations.clear();
    const nonce = crypto.randomUUID();
    confirmations.set(nonce, { action, target, issuedAt: now, usedAt: null });
    return nonce;
  }

  /** Checks a POST (origin, token, confirm, nonce) and uses its nonce up. */
  async function checkPost(
    request: Request,
    action: Confirmation["action"],
    target: string,
    back: string,
  ): Promise<void> {
    const origin = request.headers.get("origin");
    const host = request.headers.get("host");
    if (origin === null || origin !== `http://${host}`) {
      throw new PageError(
        403,
        "Refused",
        `Refused a request from another site (Origin ${
          origin ?? "absent"
        }): actions are taken only from the console's own pages`,
      );
    }
    if (Number(request.headers.get("content-length") ?? "0") > 16_384) {
      throw new PageError(413, "Too large", "Refused a form larger than 16 KiB");
    }
    const form = await request.formData().catch(() => new FormData());
    if (form.get("token") !== options.token) {
      throw new PageError(
        403,
        "Refused",
        "Refused a form without this console's token: open the action again from the console",
      );
    }
    if (form.get("confirm") !== "yes") {
      throw new PageError(400, "Not confirmed", "Nothing was done: the action was not confirmed");
    }
    const nonce = String(form.get("nonce") ?? "");
    const confirmation = confirmations.get(nonce);
    const what = action === "retry" ? "retry" : "replay";
    if (
      confirmation === undefined || confirmation.action !== action ||
      confirmation.target !== target || Date.now() - confirmation.issuedAt > CONFIRM_TTL_MS
    ) {
      throw new PageError(
        409,
        "Confirmation expired",
        `Nothing was done: this ${what} confirmation is unknown or expired; open ${back} and start again`,
      );
    }
    if (confirmation.usedAt !== null) {
      throw new PageError(
        409,
        "Submitted already",
        `This ${what} was submitted already, ${
          formatDuration(Date.now() - confirmation.usedAt)
        } ago: it was not sent again`,
      );
    }
    confirmation.usedAt = Date.now();
  }

  function sagaId(raw: string): string {
    try {
      return parseUuid(decodeURIComponent(raw));
    } catch {
      throw new PageError(
        400,
        "Not a saga id",
        `"${
          safeDecode(raw)
        }" is not a saga id or order id: expected a UUID such as 8a1f0c4e-0001-4000-8000-000000000001`,
      );
    }
  }

  function dlqRef(raw: string): { ref: DlqRef; text: string } {
    const parsed = (() => {
      try {
        return parseDlqRef(decodeURIComponent(raw));
      } catch {
        return null;
      }
    })();
    if (parsed === null || parsed.partition === null) {
      throw new PageError(
        400,
        "Not a record",
        `"${
          safeDecode(raw)
        }" does not name a ${DLQ_TOPIC} record: expected <partition>:<offset>, e.g. 3:17`,
      );
    }
    const ref = { partition: parsed.partition, offset: parsed.offset };
    return { ref, text: `${ref.partition}:${ref.offset}` };
  }

  async function sagaListResponse(url: URL): Promise<Response> {
    const statuses: SagaStatus[] = [];
    let problem: string | null = null;
    for (const value of url.searchParams.getAll("status")) {
      for (const part of value.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean)) {
        if ((SAGA_STATUSES as readonly string[]).includes(part)) {
          if (!statuses.includes(part as SagaStatus)) statuses.push(part as SagaStatus);
        } else {
          problem = `Unknown status "${part}": expected one of ${SAGA_STATUSES.join(", ")}`;
        }
      }
    }
    const idText = (url.searchParams.get("id") ?? "").trim();
    let id: string | null = null;
    if (idText !== "") {
      try {
        id = parseUuid(idText);
      } catch {
        problem =
          `"${idText}" is not a saga id or order id: expected a UUID such as 8a1f0c4e-0001-4000-8000-000000000001`;
      }
    }
    const { sagas, counts } = problem === null
      ? await backend.sagaList({ statuses, id, limit: SAGA_LIST_LIMIT })
      : {
        sagas: [],
        counts: (await backend.sagaList({ statuses: [], id: null, limit: 1 })).counts,
      };
    const view = {
      sagas,
      counts,
      filter: { statuses, id: idText },
      limit: SAGA_LIST_LIMIT,
      now: backend.now(),
      problem,
    };
    const status = problem === null ? 200 : 400;
    return url.searchParams.has("fragment")
      ? page(sagaListLive(view), status)
      : page(sagaListPage(view), status);
  }

  async function sagaResponse(url: URL, raw: string): Promise<Response> {
    const id = sagaId(raw);
    const found = await backend.saga(id);
    if (found === null) {
      throw new PageError(404, "No such saga", `No saga has saga id or order id ${id}`);
    }
    const notice = url.searchParams.get("notice") === "retried"
      ? `The retry was sent as ${backend.actor()}; this page follows the saga live.`
      : null;
    const view: SagaPageView = { ...found, now: backend.now(), notice };
    return url.searchParams.has("fragment") ? page(sagaLive(view)) : page(sagaPage(view));
  }

  async function retryConfirm(raw: string): Promise<Response> {
    const id = sagaId(raw);
    const { saga, plan } = await backend.retryPlan(id);
    return page(confirmPage({
      title: `Retry saga ${saga.sagaId.slice(0, 8)}?`,
      section: "sagas",
      back: `/sagas/${saga.sagaId}`,
      plan: [
        `Saga ${saga.sagaId} (order ${saga.orderId}): ${plan}.`,
        saga.failure === null
          ? "Its compensation keeps failing."
          : `It failed because ${saga.failure.step} failed (${saga.failure.code}): ${saga.failure.reason}`,
        "Fix the cause first (e.g. the refund the payment provider refused), or it fails again.",
      ],
      actor: backend.actor(),
      action: `/sagas/${saga.sagaId}/retry`,
      token: options.token,
      nonce: issue("retry", saga.sagaId),
      button: "Retry the compensation",
    }));
  }

  async function retryPost(request: Request, raw: string): Promise<Response> {
    const id = sagaId(raw);
    await checkPost(request, "retry", id, `/sagas/${id}`);
    const retried = await backend.retry(id);
    return redirect(`/sagas/${retried.sagaId}?notice=retried`);
  }

  async function dlqListResponse(url: URL): Promise<Response> {
    const typeText = (url.searchParams.get("type") ?? "").trim().toUpperCase();
    if (typeText !== "" && !isEventType(typeText)) {
      throw new PageError(
        400,
        "Unknown event type",
        `"${typeText}" is not an event type of the contract, such as ORDER_CREATED or COMPENSATION_FAILED`,
      );
    }
    const { list, warnings } = await backend.dlqList({
      type: typeText === "" ? null : typeText,
      limit: DLQ_LIST_LIMIT,
    });
    return page(
      dlqListPage({ list, type: typeText, types: eventTypes, now: backend.now(), warnings }),
    );
  }

  async function dlqRecordResponse(url: URL, raw: string): Promise<Response> {
    const { ref } = dlqRef(raw);
    const { record } = await backend.dlqRecord(ref);
    const notice = url.searchParams.get("notice") === "replayed"
      ? `Replayed to ${record.source?.topic ?? "its source topic"} as ${backend.actor()}.`
      : null;
    return page(dlqRecordPage(record, { topic: DLQ_TOPIC, now: backend.now(), notice }));
  }

  async function replayConfirm(raw: string): Promise<Response> {
    const { ref, text } = dlqRef(raw);
    const plan = await backend.replayPlan(ref);
    return page(confirmPage({
      title: `Replay record ${text}?`,
      section: "dlq",
      back: `/dlq/${text}`,
      plan: [
        `Publish ${DLQ_TOPIC} ${text} again to ${plan.sourceTopic}${
          plan.sourcePartition === null ? "" : ` partition ${plan.sourcePartition}`
        }: the same key${
          plan.key === null ? "" : ` (${plan.key})`
        }, value and headers, plus dlq-replayed-at.`,
        `Type ${
          plan.eventType ?? "unknown"
        }. The replay is recorded, so the record is not replayed twice.`,
        "Fix what made it fail first, or it comes back to the DLQ.",
      ],
      actor: backend.actor(),
      action: `/dlq/${text}/replay`,
      token: options.token,
      nonce: issue("replay", text),
      button: "Replay it",
    }));
  }

  async function replayPost(request: Request, raw: string): Promise<Response> {
    const { ref, text } = dlqRef(raw);
    await checkPost(request, "replay", text, `/dlq/${text}`);
    await backend.replay(ref);
    return redirect(`/dlq/${text}?notice=replayed`);
  }

  async function route(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    const method = request.method === "HEAD" ? "GET" : request.method;
    const routes: [RegExp, string, (m: RegExpMatchArray) => Promise<Response>][] = [
      [/^\/$/, "GET", () => Promise.resolve(redirect("/sagas"))],
      [/^\/assets\/console\.css$/, "GET", () => Promise.resolve(asset(CONSOLE_CSS, "text/css"))],
      [
        /^\/assets\/console\.js$/,
        "GET",
        () => Promise.resolve(asset(CONSOLE_JS, "text/javascript")),
      ],
      [/^\/sagas\/?$/, "GET", () => sagaListResponse(url)],
      [/^\/sagas\/([^/]+)$/, "GET", (m) => sagaResponse(url, m[1]!)],
      [/^\/sagas\/([^/]+)\/retry$/, "GET", (m) => retryConfirm(m[1]!)],
      [/^\/sagas\/([^/]+)\/retry$/, "POST", (m) => retryPost(request, m[1]!)],
      [/^\/dlq\/?$/, "GET", () => dlqListResponse(url)],
      [/^\/dlq\/([^/]+)$/, "GET", (m) => dlqRecordResponse(url, m[1]!)],
      [/^\/dlq\/([^/]+)\/replay$/, "GET", (m) => replayConfirm(m[1]!)],
      [/^\/dlq\/([^/]+)\/replay$/, "POST", (m) => replayPost(request, m[1]!)],
      [/^\/events$/, "GET", () => Promise.resolve(events(request, url))],
    ];
    let allowed: string[] = [];
    for (const [pattern, routeMethod, handle] of routes) {
      const match = path.match(pattern);
      if (match === null) continue;
      if (routeMethod === method) return await handle(match);
      allowed = [...allowed, routeMethod];
    }
    if (allowed.length > 0) {
      throw new PageError(405, "Method not allowed", `${request.method} is not allowed here`);
    }
    throw new PageError(404, "Not found", `There is no page at ${path}`);
  }

  function events(request: Request, url: URL): Response {
    const order = url.searchParams.get("order");
    return eventStream(backend.events, {
      orderId: order === null ? null : sagaId(order),
      signal: request.signal,
      closed: options.closed,
    });
  }

  return async function handleConsoleRequest(request) {
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? "";
    const port = options.port();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return page(
        errorPage({
          status: 403,
          title: "Refused",
          message:
            `This console answers only as http://127.0.0.1:${port}/ (the request named host "${host}")`,
          links: [],
        }),
        403,
      );
    }
    try {
      return await route(request, url);
    } catch (error) {
      const status = statusOf(error);
      const title = error instanceof PageError ? error.title : TITLES[status] ?? "Error";
      const message = error instanceof PageError ? error.message : describeError(error);
      const links: [string, string][] = url.pathname.startsWith("/dlq")
        ? [["/dlq", "Back to the dead letters"]]
        : [["/sagas", "Back to the sagas"]];
      const sagaPath = /^\/sagas\/([^/]+)\/retry$/.exec(url.pathname);
      if (sagaPath !== null) links.unshift([`/sagas/${sagaPath[1]}`, "Back to the saga"]);
      const recordPath = /^\/dlq\/([^/]+)\/replay$/.exec(url.pathname);
      if (recordPath !== null) links.unshift([`/dlq/${recordPath[1]}`, "Back to the record"]);
      return page(errorPage({ status, title, message, links }), status);
    }
  };
}

function safeDecode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function securityHeaders(contentType: string): Headers {
  return new Headers({
    "content-type": contentType,
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    // Same-origin requests keep their Origin header (no-referrer would send "null" on a POST).
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
  });
}

function page(body: Html, status = 200): Response {
  return new Response(body.text, { status, headers: securityHeaders("text/html; charset=utf-8") });
}

function asset(text: string, type: string): Response {
  return new Response(text, { headers: securityHeaders(`${type}; charset=utf-8`) });
}

function redirect(location: string): Response {
  const headers = securityHeaders("text/plain; charset=utf-8");
  headers.set("location", location);
  return new Response(`See ${location}\n`, { status: 303, headers });
}
