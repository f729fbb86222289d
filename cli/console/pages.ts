/**
 * The console's pages as pure functions from the CLI's read models (`SagaJson`, `TimelineJson`,
 * `DlqRecordJson`, …) to HTML. Every value from data goes through `html`, which escapes it.
 */
import { ORCHESTRATOR_SAGAS } from "../../lib/order_saga/mod.ts";
import { SAGA_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import {
  type DlqListJson,
  type DlqRecordDetailJson,
  type DlqRecordJson,
  prettyJson,
} from "../dlq_view.ts";
import { formatMoney } from "../../lib/format/money.ts";
import { formatAgo, formatClock, formatDuration, formatTimestamp, NONE } from "../output.ts";
import { isFinal, type OrderJson, type SagaJson, type TimelineJson } from "../saga_view.ts";
import { type Html, html, type HtmlValue, trusted } from "./html.ts";
import { lanesOf, markKind, timelineSvg } from "./timeline_svg.ts";

/** Which part of the console a page belongs to (for the navigation). */
export type Section = "sagas" | "dlq";

/** Live updates of a page: the event stream to follow and the fragment to fetch on each event. */
export interface LiveSpec {
  events: string;
  fragment: string;
}

/** A whole HTML document around `body`. */
export function layout(
  options: { title: string; section: Section | null; live?: LiveSpec },
  body: HtmlValue,
): Html {
  const nav = (section: Section, href: string, label: string) =>
    html`
      <a href="${href}" ${options.section === section
        ? html`
          aria-current="page"
        `
        : null}>${label}</a>
    `;
  return trimmed(html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${options.title} · sagactl console</title>
        <link rel="stylesheet" href="/assets/console.css">
        <script src="/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to the content</a>
        <header class="top">
          <a class="brand" href="/sagas">sagactl console</a>
          <nav aria-label="Sections">${nav("sagas", "/sagas", "Sagas")}${nav(
            "dlq",
            "/dlq",
            "Dead letters",
          )}</nav>
          <p class="live-state" id="live-state" role="status" aria-live="polite">${options.live ===
              undefined
            ? ""
            : "Connecting…"}</p>
        </header>
        <main id="main" ${options.live === undefined ? null : html`
          data-events="${options.live.events}" data-fragment="${options.live.fragment}"
        `}>
    ${body}
        </main>
      </body>
    </html>
  `);
}

function trimmed(markup: Html): Html {
  return trusted(markup.text.trim() + "\n");
}

/** A saga status as a badge. */
export function statusBadge(status: string): Html {
  return html`<span class="badge st-${status}">${status}</span>`;
}

function shortId(id: string): string {
  return id.slice(0, 8);
}

function ago(iso: string | null, now: Date): Html {
  if (iso === null) return html`<span class="muted">${NONE}</span>`;
  return html`<time datetime="${iso}" title="${formatTimestamp(new Date(iso))}">${
    formatAgo(new Date(iso), now)
  }</time>`;
}

/** What the saga list shows. */
export interface SagaListView {
  sagas: readonly SagaJson[];
  /** Sagas per status, over all sagas (as `sagactl stats`). */
  counts: Record<SagaStatus, number>;
  filter: { statuses: readonly SagaStatus[]; id: string };
  limit: number;
  now: Date;
  /** Why the filter could not be applied (e.g. a malformed id), shown above the table. */
  problem?: string | null;
}

/** The saga list: counts per status, filters, and the sagas (those needing an operator first). */
export function sagaListPage(view: SagaListView): Html {
  const query = new URLSearchParams();
  for (const status of view.filter.statuses) query.append("status", status);
  if (view.filter.id !== "") query.set("id", view.filter.id);
  query.set("fragment", "1");
  return layout(
    {
      title: "Sagas",
      section: "sagas",
      live: { events: "/events", fragment: `/sagas?${query}` },
    },
    html`<h1>Sagas</h1>
${sagaFilterForm(view)}
<div id="live">${sagaListLive(view)}</div>`,
  );
}

function sagaFilterForm(view: SagaListView): Html {
  return html`
    <form class="filters" method="get" action="/sagas" role="search" aria-label="Filter sagas">
      <fieldset><legend>Status</legend>${SAGA_STATUSES.map((status) =>
        html`
          <label
            class="check"><input type="checkbox" name="status" value="${status}"${view.filter
                .statuses.includes(status)
              ? html`
                checked
              `
              : null}> ${status}</label>
        `
      )}</fieldset>
      <div class="field"><label for="filter-id">Saga id or order id</label>
    <input id="filter-id" name="id" value="${view.filter
      .id}" inputmode="text" autocomplete="off" spellcheck="false" placeholder="e.g. 8a1f0c4e-0001-4000-8000-000000000001"></div>
      <div
        class="buttons"><button type="submit">Filter</button> <a class="button secondary" href="/sagas">Clear</a></div>
    </form>
  `;
}

/** The live part of the saga list: the counts and the table (fetched again on each event). */
export function sagaListLive(view: SagaListView): Html {
  const { counts, now } = view;
  const total = SAGA_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  const failed = counts.COMPENSATION_FAILED;
  const countLinks = SAGA_STATUSES.map((status) =>
    html`<li><a class="count st-${status}" href="/sagas?status=${status}" data-status="${status}"><span class="count-n">${
      counts[status]
    }</span> <span class="count-label">${status}</span></a></li>`
  );
  const rows = view.sagas.map((saga) => {
    const stuck = saga.status === "COMPENSATION_FAILED";
    return html`
      <tr data-saga-id="${saga.sagaId}" data-order-id="${saga.orderId}" data-status="${saga
        .status}" ${stuck
        ? html`
          class="needs-operator"
        `
        : null}>
        <td
          data-label="Saga"><a class="id" href="/sagas/${saga.sagaId}" title="${saga
            .sagaId}">${shortId(saga.sagaId)}</a>${stuck
            ? html`
              <span class="flag">needs an operator</span>
            `
            : null}</td>
        <td data-label="Order"><span class="id" title="${saga.orderId}">${shortId(
          saga.orderId,
        )}</span></td>
        <td data-label="Status">${statusBadge(saga.status)}</td>
        <td data-label="Step">${saga.step ?? NONE}${saga.phase === "compensation"
          ? html`
            <span class="muted">(undo)</span>
          `
          : null}</td>
        <td data-label="Retries" class="num">${saga.retryCount}</td>
        <td data-label="Next retry">${ago(saga.nextRetryAt, now)}</td>
        <td data-label="Age">${ago(saga.createdAt, now)}</td>
      </tr>
    `;
  });
  return html`
    <section aria-labelledby="counts-h" class="counts-section">
      <h2 id="counts-h" class="visually-hidden">Sagas per status</h2>
      <p class="summary">${total} saga(s); ${failed === 0
        ? html`<span class="ok">no saga needs an operator</span>`
        : html`<a class="alarm" href="/sagas?status=COMPENSATION_FAILED">${failed} saga(s) need an operator</a>`}</p>
      <ul class="counts">${countLinks}</ul>
    </section>
    ${view.problem ? html`<p class="problem" role="alert">${view.problem}</p>` : null}
    ${view.sagas.length === 0 ? html`<p class="empty">No sagas match.</p>` : html`
      <div class="table-wrap">
        <table class="sagas stack">
          <caption>${view.sagas.length} saga(s)${view.sagas.length === view.limit
            ? ` (the first ${view.limit})`
            : ""}: those needing an operator first, then newest first</caption>
          <thead>
            <tr>
              <th scope="col">Saga</th>
              <th scope="col">Order</th>
              <th scope="col">Status</th>
              <th scope="col">Step</th>
              <th scope="col" class="num">Retries</th>
              <th scope="col">Next retry</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>${rows}</tbody>
        </table>
      </div>
    `}
  `;
}

/** A product's name for the order lines. */
export interface ProductName {
  sku: string;
  name: string;
}

/** What one saga's page shows. */
export interface SagaPageView {
  saga: SagaJson;
  order: OrderJson | null;
  timeline: readonly TimelineJson[];
  products: ReadonlyMap<string, ProductName>;
  now: Date;
  /** A line shown on top after an action (chosen by the server, never from the URL). */
  notice?: string | null;
}

/** One saga: its order, state, the drawn timeline and the full history table. */
export function sagaPage(view: SagaPageView): Html {
  const { saga } = view;
  return layout(
    {
      title: `Saga ${shortId(saga.sagaId)}`,
      section: "sagas",
      live: {
        events: `/events?order=${saga.orderId}`,
        fragment: `/sagas/${saga.sagaId}?fragment=1`,
      },
    },
    html`<p class="crumbs"><a href="/sagas">Sagas</a> › saga ${shortId(saga.sagaId)}</p>
<h1>Saga <span class="id">${saga.sagaId}</span></h1>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : null}
<div id="live">${sagaLive(view)}</div>
${orderSection(view)}`,
  );
}

/** The live part of a saga's page: state, action, timeline and history. */
export function sagaLive(view: SagaPageView): Html {
  const { saga, now, timeline } = view;
  const owed = saga.pendingCompensations.slice(saga.phase === "compensation" ? 1 : 0);
  const due = saga.deadlineAt === null ? null : html`; reply due ${ago(saga.deadlineAt, now)}`;
  const row = (label: string, value: HtmlValue, wide = false) =>
    html`
      <div${wide
        ? html`
          class="wide"
        `
        : null}>
        <dt>${label}</dt>
        <dd>${value}</dd>
        </div>
    `;
  const start = Date.parse(timeline[0]?.at ?? saga.createdAt);
  const lanes = lanesOf(ORCHESTRATOR_SAGAS.byType(saga.type));
  const history = timeline.map((line, i) => {
    const ignored = line.outcome === "ignored";
    const kind = markKind(line, lanes);
    return html`
      <tr id="h-${i + 1}" class="kind-${kind}${ignored ? " ignored" : ""}">
        <td data-label="#" class="num">${i + 1}</td>
        <td data-label="Time (UTC)"><time datetime="${line.at}">${formatClock(
          new Date(line.at),
        )}</time></td>
        <td data-label="Elapsed" class="num">+${formatDuration(Date.parse(line.at) - start)}</td>
        <td data-label="Event">${line.eventType}</td>
        <td data-label="Actor">${line.actor}</td>
        <td data-label="Transition">${ignored
          ? html`<span class="muted">(ignored)</span>`
          : line.fromStatus === line.toStatus
          ? statusBadge(line.toStatus)
          : html`${line.fromStatus ?? NONE} → ${statusBadge(line.toStatus)}`}</td>
        <td data-label="Step">${line.step ?? NONE}</td>
        <td data-label="Note" class="note">${line.note}</td>
      </tr>
    `;
  });
  return html`
    <section aria-labelledby="state-h" class="card" data-status="${saga.status}">
    <h2 id="state-h">State ${statusBadge(saga.status)}</h2>
    <dl class="facts">
    ${row("Saga", html`<span class="id">${saga.sagaId}</span> (${saga.type} saga)`)}
    ${row("Order", html`<span class="id">${saga.orderId}</span> ${saga.orderStatus}`)}
    ${row("Status", statusBadge(saga.status))}
    ${row(
      "Step",
      saga.step === null
        ? NONE
        : `${saga.step} (${saga.phase})${owed.length > 0 ? `, then ${owed.join(", then ")}` : ""}`,
    )}
    ${row(
      "Retries",
      html`${saga.retryCount} failed attempt(s); next retry ${ago(saga.nextRetryAt, now)}${due}`,
    )}
    ${saga.failure === null ? null : row(
      "Failure",
      `${saga.failure.step} failed (${saga.failure.code}): ${saga.failure.reason}`,
      true,
    )}
    ${row(
      "Created",
      html`${formatTimestamp(new Date(saga.createdAt))} (${ago(saga.createdAt, now)})`,
    )}
    ${row(
      "Updated",
      html`${formatTimestamp(new Date(saga.updatedAt))} (${ago(saga.updatedAt, now)})`,
    )}
    </dl>
    ${saga.status === "COMPENSATION_FAILED"
      ? html`
        <div class="callout" role="note">
          <p><strong>An operator is needed:</strong> ${saga.step ??
            "a compensation"} keeps failing. Fix the cause first (e.g. the refund the payment provider refused), then send it again.</p>
          <p><a class="button danger" id="retry-link" href="/sagas/${saga
            .sagaId}/retry">Retry the compensation…</a></p>
        </div>
      `
      : null}
    </section>
    <section aria-labelledby="timeline-h" class="card">
      <h2 id="timeline-h">Timeline</h2>
      <div class="timeline-wrap">${timelineSvg(timeline, {
        lanes,
        now,
        // A COMPENSATION_FAILED saga is final but waits: its wait for an operator runs until now.
        final: isFinal(saga.status) && saga.status !== "COMPENSATION_FAILED",
        rowIdPrefix: "h-",
      })}</div>
      <ul class="legend" aria-label="Legend">
        <li><span class="key key-forward"></span>step awaited</li>
        <li><span class="key key-compensation"></span>compensation awaited</li>
        <li><span class="key key-stuck"></span>waiting for an operator</li>
        <li><span class="key key-success"></span>reply: done</li>
        <li><span class="key key-failure"></span>reply: failed</li>
        <li><span class="key key-retry"></span>retry or re-send</li>
        <li><span class="key key-operator"></span>operator action</li>
      </ul>
    </section>
    <section aria-labelledby="history-h" class="card">
      <h2 id="history-h">History</h2>
      <div class="table-wrap">
        <table class="history stack">
          <caption>Every transition of the saga, oldest first (${timeline
            .length} line(s)); the numbers match the marks above</caption>
          <thead>
            <tr>
              <th scope="col" class="num">#</th>
              <th scope="col">Time (UTC)</th>
              <th scope="col" class="num">Elapsed</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">Transition</th>
              <th scope="col">Step</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>${history}</tbody>
        </table>
      </div>
    </section>
  `;
}

function orderSection(view: SagaPageView): Html {
  const { order } = view;
  if (order === null) {
    return html`
      <section class="card" aria-labelledby="order-h">
        <h2 id="order-h">Order</h2>
        <p class="muted">The order is not stored.</p>
      </section>
    `;
  }
  const lines = order.items.map((item) => {
    const product = view.products.get(item.productId);
    return html`
      <tr>
        <td data-label="Product">${product?.name ?? item.productId}${product === undefined
          ? null
          : html`
            <span class="muted">${product.sku}</span>
          `}</td>
        <td data-label="Quantity" class="num">${item.quantity}</td>
        <td data-label="Unit price" class="num">${formatMoney(
          item.unitPriceCents,
          order.currency,
        )}</td>
        <td data-label="Line total" class="num">${formatMoney(
          item.unitPriceCents * item.quantity,
          order.currency,
        )}</td>
      </tr>
    `;
  });
  return html`
    <section class="card" aria-labelledby="order-h">
      <h2 id="order-h">Order</h2>
      <dl class="facts">
        <div>
          <dt>Customer</dt>
          <dd>${order.customerEmail} <span class="muted id">${order.customerId}</span></dd>
        </div>
        <div>
          <dt>Payment method</dt>
          <dd>${order.paymentMethod}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd><strong>${formatMoney(order.totalCents, order.currency)}</strong></dd>
        </div>
      </dl>
      <div class="table-wrap">
        <table class="lines stack">
          <caption>Order lines</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" class="num">Quantity</th>
              <th scope="col" class="num">Unit price</th>
              <th scope="col" class="num">Line total</th>
            </tr>
          </thead>
          <tbody>${lines}</tbody>
          <tfoot>
            <tr>
              <th scope="row" colspan="3">Total</th>
              <td class="num">${formatMoney(order.totalCents, order.currency)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </section>
  `;
}

/** What the DLQ list shows. */
export interface DlqListView {
  list: DlqListJson;
  type: string;
  /** Event types to offer in the filter. */
  types: readonly string[];
  now: Date;
  warnings: readonly string[];
}

function sourceText(record: DlqRecordJson): string {
  return record.source === null
    ? "(alert)"
    : `${record.source.topic}/${record.source.partition ?? "?"}/${record.source.offset ?? "?"}`;
}

/** The DLQ: the newest records with source, type, reason and replays. */
export function dlqListPage(view: DlqListView): Html {
  const { list, now } = view;
  const rows = list.records.map((record) =>
    html`
      <tr data-ref="${record.ref}" data-key="${record.key ?? ""}" data-kind="${record.kind}">
        <td data-label="Record"><a href="/dlq/${record.ref}">${record.ref}</a></td>
        <td data-label="Time">${ago(record.timestamp, now)}</td>
        <td data-label="Kind">${record.kind === "alert"
          ? html`<span class="badge st-COMPENSATION_FAILED">alert</span>`
          : html`<span class="badge">dead letter</span>`}</td>
        <td data-label="Source">${sourceText(record)}</td>
        <td data-label="Type">${record.eventType ?? NONE}</td>
        <td data-label="Order">${record.orderId === null
          ? NONE
          : html`<a class="id" href="/sagas/${record.orderId}" title="${record.orderId}">${
            shortId(record.orderId)
          }</a>`}</td>
        <td data-label="Replayed" class="replayed">${record.replay === null
          ? html`<span class="muted">not replayed</span>`
          : html`${record.replay.count}× · ${
            ago(record.replay.lastReplayedAt, now)
          } by ${record.replay.replayedBy}`}</td>
        <td data-label="Reason" class="note">${record.error ?? NONE}</td>
      </tr>
    `
  );
  return layout(
    { title: "Dead letters", section: "dlq" },
    html`
      <h1>Dead letters <span class="muted">(${list.topic})</span></h1>
      <form class="filters" method="get" action="/dlq" role="search" aria-label="Filter dead letters">
        <div class="field"><label for="filter-type">Event type</label>
      <select id="filter-type" name="type"><option value="">any</option>${view.types.map((type) =>
        html`
          <option value="${type}" ${type === view.type
            ? html`
              selected
            `
            : null}>${type}</option>
        `
      )}</select></div>
        <div
          class="buttons"><button type="submit">Filter</button> <a class="button secondary" href="/dlq">Clear</a></div>
      </form>
      ${view.warnings.map((w) => html`<p class="problem" role="alert">${w}</p>`)}
      <p
        class="summary">${list.records.length} of ${list
          .depth} record(s), newest first. A dead letter goes back to its source topic with <em>Replay</em>; an alert is repaired from its saga.</p>
      ${list.records.length === 0
        ? html`<p class="empty">${list.topic} has no records${
          view.type ? ` of ${view.type}` : ""
        }.</p>`
        : html`
          <div class="table-wrap">
            <table class="dlq stack">
              <caption>Records in ${list.topic}</caption>
              <thead>
                <tr>
                  <th scope="col">Record</th>
                  <th scope="col">Time</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Source</th>
                  <th scope="col">Type</th>
                  <th scope="col">Order</th>
                  <th scope="col">Replayed</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>${rows}</tbody>
            </table>
          </div>
        `}
    `,
  );
}

/** One DLQ record: its facts, headers and value, and the way to repair it. */
export function dlqRecordPage(
  record: DlqRecordDetailJson,
  options: { topic: string; now: Date; notice?: string | null },
): Html {
  const { now } = options;
  const row = (label: string, value: HtmlValue) =>
    html`
      <div>
        <dt>${label}</dt>
        <dd>${value}</dd>
      </div>
    `;
  const headers = Object.entries(record.headers).map(([name, value]) =>
    html`
      <tr>
        <th scope="row">${name}</th>
        <td class="note">${value}</td>
      </tr>
    `
  );
  const action = record.kind === "alert"
    ? (record.sagaId === null
      ? null
      : html`<p><a class="button" href="/sagas/${record.sagaId}">Open its saga to repair it</a></p>`)
    : html`<p><a class="button danger" id="replay-link" href="/dlq/${record.ref}/replay">Replay to ${
      record.source?.topic ?? "its source topic"
    }…</a></p>`;
  return layout(
    { title: `Record ${record.ref}`, section: "dlq" },
    html`
      <p class="crumbs"><a href="/dlq">Dead letters</a> › ${record.ref}</p>
      <h1>Record ${record.ref} <span class="muted">in ${options.topic}</span></h1>
      ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : null}
      <section class="card" aria-labelledby="record-h">
      <h2 id="record-h">${record.kind === "alert"
        ? "Alert: an operator is needed (not replayable)"
        : "Dead letter"}</h2>
      <dl class="facts">
      ${row(
        "Time",
        html`${formatTimestamp(new Date(record.timestamp))} (${ago(record.timestamp, now)})`,
      )}
      ${row(
        "Source",
        record.source === null
          ? NONE
          : `${record.source.topic} partition ${record.source.partition ?? "?"} offset ${
            record.source.offset ?? "?"
          }`,
      )}
      ${row("Type", record.eventType ?? NONE)}
      ${row(
        "Order",
        record.orderId === null
          ? NONE
          : html`<a class="id" href="/sagas/${record.orderId}">${record.orderId}</a>`,
      )}
      ${row("Saga", record.sagaId === null ? NONE : html`<span class="id">${record.sagaId}</span>`)}
      ${row("Key", record.key ?? NONE)}
      ${row("Failed", record.failedAt ?? NONE)}
      ${row("Reason", html`<span class="note">${record.error ?? NONE}</span>`)}
      ${row(
        "Replayed",
        record.replay === null
          ? "never"
          : `${record.replay.count}×, last at ${record.replay.lastReplayedAt} by ${record.replay.replayedBy}`,
      )}
      </dl>
      ${action}
      </section>
      <section class="card" aria-labelledby="headers-h">
        <h2 id="headers-h">Headers</h2>
        <div class="table-wrap">
          <table class="headers">
            <caption class="visually-hidden">Record headers</caption>
            <tbody>${headers}</tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="value-h">
        <h2 id="value-h">Value</h2>
        <pre class="value" tabindex="0">${prettyJson(record.value)}</pre>
      </section>
    `,
  );
}

/** What a confirmation page shows: the plan in words and the form that carries it out. */
export interface ConfirmView {
  title: string;
  section: Section;
  /** Where "Cancel" goes back to. */
  back: string;
  /** Lines describing what will happen. */
  plan: readonly string[];
  /** Who the action is recorded as. */
  actor: string;
  action: string;
  token: string;
  nonce: string;
  button: string;
}

/** A confirmation step: the plan, then a POST form with `confirm=yes`. */
export function confirmPage(view: ConfirmView): Html {
  return layout(
    { title: view.title, section: view.section },
    html`
      <h1>${view.title}</h1>
      <section class="card confirm" aria-labelledby="plan-h">
        <h2 id="plan-h">What will happen</h2>
        <ul class="plan">${view.plan.map((line) => html`<li>${line}</li>`)}</ul>
        <p>It is recorded as <strong>${view.actor}</strong>.</p>
        <form method="post" action="${view.action}" class="confirm-form">
          <input type="hidden" name="token" value="${view.token}">
          <input type="hidden" name="nonce" value="${view.nonce}">
          <input type="hidden" name="confirm" value="yes">
          <button type="submit" class="danger" id="confirm-button"
            data-busy="Sending…">${view.button}</button>
          <a class="button secondary" href="${view.back}">Cancel</a>
        </form>
      </section>
    `,
  );
}

/** A page for what went wrong: an unknown id, a refused action, a double submit… */
export function errorPage(
  options: { status: number; title: string; message: string; links?: readonly [string, string][] },
): Html {
  const links = options.links ?? [["/sagas", "Back to the sagas"]];
  return layout(
    { title: options.title, section: null },
    html`<h1>${options.title}</h1>
<p class="problem" role="alert" data-status="${options.status}">${options.message}</p>
<p>${
      links.map(([href, label]) =>
        html`
          <a class="button secondary" href="${href}">${label}</a>
        `
      )
    }</p>`,
  );
}
