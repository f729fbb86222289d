import assert from "node:assert/strict";
import { SAGA_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import type { DlqRecordDetailJson } from "../dlq_view.ts";
import { FIXTURE_T0, refundFailedView } from "./fixtures.ts";
import { escapeHtml, html, trusted } from "./html.ts";
import {
  confirmPage,
  dlqListPage,
  dlqRecordPage,
  errorPage,
  sagaListPage,
  sagaPage,
} from "./pages.ts";

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'"&`;
const T0 = Date.parse(FIXTURE_T0);

function counts(): Record<SagaStatus, number> {
  return Object.fromEntries(SAGA_STATUSES.map((s) => [s, 0])) as Record<SagaStatus, number>;
}

Deno.test("html() escapes every interpolated value and keeps Html as is", () => {
  assert.equal(
    html`<p title="${HOSTILE}">${HOSTILE}</p>`.text,
    `<p title="${escapeHtml(HOSTILE)}">${escapeHtml(HOSTILE)}</p>`,
  );
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  assert.equal(
    html`${[html`<b>${"<i>"}</b>`, trusted("<br>"), null, false, 3]}`.text,
    "<b>&lt;i&gt;</b><br>3",
  );
});

Deno.test("sagaPage() escapes hostile notes, emails and reasons", () => {
  const view = refundFailedView(HOSTILE);
  view.order = { ...view.order!, customerEmail: HOSTILE };
  view.products = new Map([["8a1f0c4e-0004-4000-8000-000000000004", {
    sku: HOSTILE,
    name: HOSTILE,
  }]]);
  const page = sagaPage(view).text;
  assert.ok(!page.includes("<script>alert"), "no script from data");
  assert.ok(!page.includes("<img src=x"), "no element from data");
  assert.ok(page.includes(escapeHtml(HOSTILE)), "the text is shown, escaped");
  assert.equal(page.match(/<script\b/g)?.length, 1, "only the console's own script tag");
});

Deno.test("sagaPage() draws the timeline, the history table, the order and the state", () => {
  const page = sagaPage(refundFailedView()).text;
  assert.match(page, /^<!doctype html>\s*<html lang="en">/);
  assert.match(page, /<svg class="timeline"[^>]*role="img"/);
  for (const kind of ["start", "success", "failure", "retry", "operator"]) {
    assert.match(page, new RegExp(`class="mark mark-${kind}"`), kind);
  }
  assert.equal(page.match(/<tr id="h-\d+"/g)?.length, 10, "one history row per line");
  assert.equal(page.match(/class="mark mark-/g)?.length, 10, "one mark per line");
  assert.match(page, /href="#h-8"/, "a mark links to its history row");
  assert.match(page, />operator:alice</);
  assert.match(page, /Logo T-shirt \(M\)/);
  assert.match(page, /\$24\.99/);
  assert.match(page, /data-events="\/events\?order=106a6561-bb6b-43eb-ac6c-a9cf490ece9c"/);
  assert.doesNotMatch(page, /id="retry-link"/, "a COMPENSATED saga offers no retry");
  for (const lane of ["ReserveInventory", "ProcessPayment", "SendNotification", "RefundPayment"]) {
    assert.match(page, new RegExp(`>${lane}(<tspan|</text>)`), lane);
  }
});

Deno.test("sagaPage() offers a retry and draws the wait for an operator when COMPENSATION_FAILED", () => {
  const view = refundFailedView();
  view.timeline = view.timeline.slice(0, 7);
  view.saga = {
    ...view.saga,
    status: "COMPENSATION_FAILED",
    step: "RefundPayment",
    phase: "compensation",
    pendingCompensations: ["RefundPayment", "ReleaseInventory"],
    retryCount: 3,
  };
  const page = sagaPage(view).text;
  assert.match(
    page,
    /<a class="button danger" id="retry-link" href="\/sagas\/2ad0a99e-[^"]+\/retry">/,
  );
  assert.match(page, /class="bar bar-stuck"/);
  assert.match(page, /An operator is needed/);
});

Deno.test("sagaListPage() shows counts, filters and rows with the statuses", () => {
  const view = refundFailedView();
  const all = counts();
  all.COMPENSATION_FAILED = 1;
  all.COMPLETED = 4;
  const failed = { ...view.saga, status: "COMPENSATION_FAILED" as const, step: "RefundPayment" };
  const page = sagaListPage({
    sagas: [failed, { ...view.saga, sagaId: crypto.randomUUID() }],
    counts: all,
    filter: { statuses: ["COMPENSATION_FAILED"], id: HOSTILE },
    limit: 100,
    now: view.now,
  }).text;
  assert.match(page, /5 saga\(s\);/);
  assert.match(page, /1 saga\(s\) need an operator/);
  assert.match(
    page,
    /<input type="checkbox" name="status" value="COMPENSATION_FAILED"\s+checked\s*>/,
  );
  assert.match(
    page,
    /<tr data-saga-id="2ad0a99e-[^"]+" data-order-id="[^"]+" data-status="COMPENSATION_FAILED"\s+class="needs-operator"\s*>/,
  );
  assert.match(page, /<label for="filter-id">/);
  assert.ok(!page.includes(HOSTILE) && page.includes(escapeHtml(HOSTILE)));
});

Deno.test("dlqRecordPage() and dlqListPage() escape headers, keys and values", () => {
  const record: DlqRecordDetailJson = {
    ref: "3:17",
    partition: 3,
    offset: 17,
    timestamp: new Date(T0).toISOString(),
    kind: "dead-letter",
    eventType: "ORDER_CREATED",
    orderId: null,
    sagaId: null,
    key: HOSTILE,
    source: { topic: "orders", partition: 3, offset: 5 },
    error: HOSTILE,
    failedAt: null,
    replay: null,
    headers: { "x-test": HOSTILE, [HOSTILE]: "v" },
    value: JSON.stringify({ note: HOSTILE }),
  };
  const detail = dlqRecordPage(record, { topic: "orders.dlq", now: new Date(T0) }).text;
  const list = dlqListPage({
    list: { topic: "orders.dlq", depth: 1, replaysKnown: true, records: [record] },
    type: "",
    types: ["ORDER_CREATED"],
    now: new Date(T0),
    warnings: [HOSTILE],
  }).text;
  for (const page of [detail, list]) {
    assert.ok(!page.includes("<script>alert") && !page.includes("<img src=x"));
    assert.ok(page.includes(escapeHtml(HOSTILE)));
  }
  assert.match(detail, /id="replay-link" href="\/dlq\/3:17\/replay">Replay to orders…/);
});

Deno.test("confirmPage() posts the token, the nonce and confirm=yes", () => {
  const page = confirmPage({
    title: "Retry saga 2ad0a99e?",
    section: "sagas",
    back: "/sagas/x",
    plan: [HOSTILE],
    actor: "operator:alice",
    action: "/sagas/x/retry",
    token: "tok",
    nonce: "non",
    button: "Retry the compensation",
  }).text;
  assert.match(page, /<form method="post" action="\/sagas\/x\/retry"/);
  assert.match(page, /name="token" value="tok"/);
  assert.match(page, /name="nonce" value="non"/);
  assert.match(page, /name="confirm" value="yes"/);
  assert.ok(!page.includes(HOSTILE));
  assert.match(
    errorPage({ status: 404, title: "No such saga", message: HOSTILE }).text,
    /&lt;script&gt;/,
  );
});
