/**
 * `sagactl console` in a real browser: Debian's chromium driven by playwright-core, against the
 * real CLI as a subprocess (`deno run -A cli/sagactl.ts console --port 0`) and the real services
 * (`withTestStack`). Orders of each outcome reach their status in the list live, a failed saga is
 * retried from its page after its cause is fixed, a dead letter is replayed, bad input gets a
 * clear page. The saga page's screenshot is kept as docs/console-saga.png.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { waitFor } from "../../lib/async/mod.ts";
import { inNamespace } from "../../lib/kafka/namespace.ts";
import { newOrder, placeOrder } from "../../lib/orders/mod.ts";
import { DEMO_SCENARIOS } from "../../testing/scenarios.ts";
import { type TestStack, withTestStack } from "../../testing/stack.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = fileURLToPath(new URL("../sagactl.ts", import.meta.url));
const SCREENSHOT = fileURLToPath(new URL("../../docs/console-saga.png", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const OPERATOR = "test-operator";
const FAST_POLICY = {
  COMPENSATION_RETRY_INITIAL: "200ms",
  SWEEP_INTERVAL: "100ms",
  MAX_COMPENSATION_RETRIES: "2",
};
const LIVE_TIMEOUT_MS = 60_000;
/** The browser's globals, inside `page.evaluate` (this file is type-checked without the DOM). */
// deno-lint-ignore no-explicit-any
type Dom = any;

/** Starts `sagactl console --port 0` and resolves with its URL once it listens. */
async function startConsole(t: TestStack) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "console", "--port", "0"],
    cwd: ROOT,
    env: { ...t.env, USER: OPERATOR },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 60_000;
  while (!/http:\/\/127\.0\.0\.1:\d+\//.test(out)) {
    if (Date.now() > deadline) throw new Error(`The console did not start: ${out}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`The console ended before listening: ${out}${await stderr}`);
    out += value;
  }
  const url = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)![1]!;
  // Keep reading so the pipe never fills.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    url,
    banner: out,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      return { status, stderr: await stderr };
    },
  };
}

async function setRefundFailures(t: TestStack, enabled: boolean): Promise<void> {
  const response = await fetch(`${t.stripeUrl}/_test/refund-failures`, {
    method: "POST",
    body: JSON.stringify({ enabled }),
  });
  assert.equal(response.status, 200, await response.text());
}

/** Marks the document, to prove later that it was never reloaded. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
}

async function sameDocument(page: Page): Promise<boolean> {
  return await page.evaluate(() =>
    (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true
  );
}

Deno.test({
  name: "sagactl console shows and repairs the real system live, in a real browser",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(test) {
    await withTestStack(FAST_POLICY, async (t) => {
      const server = await startConsole(t);
      assert.match(server.banner, new RegExp(`as operator:${OPERATOR}`));
      const profile = await Deno.makeTempDir({ prefix: "console-chromium-" });
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      page.on("console", (message) => {
        // Error pages answer 4xx on purpose; anything else logged as an error is a fault.
        if (message.type() === "error" && !/^Failed to load resource/.test(message.text())) {
          pageErrors.push(message.text());
        }
      });
      const orders = new Map<string, { orderId: string; expected: string }>();
      try {
        await test.step("each outcome reaches its status in the saga list live, without a reload", async () => {
          const response = await page.goto(`${server.url}/sagas`);
          assert.equal(response?.status(), 200);
          assert.equal(await page.getAttribute("html", "lang"), "en");
          await page.waitForSelector("#live-state.live", { timeout: 20_000 });
          await markDocument(page);
          for (const scenario of DEMO_SCENARIOS) {
            const order = newOrder(scenario.request);
            await placeOrder(t.producer, order);
            orders.set(scenario.name, { orderId: order.orderId, expected: scenario.expected });
          }
          for (const [name, { orderId, expected }] of orders) {
            await page.waitForSelector(
              `tr[data-order-id="${orderId}"][data-status="${expected}"]`,
              { timeout: LIVE_TIMEOUT_MS },
            ).catch((error) => {
              throw new Error(`The ${name} order did not show ${expected} live: ${error}`);
            });
          }
          assert.ok(await sameDocument(page), "the list updated in place, not by reloading");
          const first = await page.getAttribute("table.sagas tbody tr:first-child", "data-status");
          assert.equal(first, "COMPENSATION_FAILED", "the saga needing an operator comes first");
          const counts = await page.textContent('a.count[data-status="COMPENSATION_FAILED"]');
          assert.match(counts ?? "", /^\s*1\s+COMPENSATION_FAILED/);
          assert.match(await page.textContent(".summary") ?? "", /1 saga\(s\) need an operator/);
        });

        await test.step("the list filters by status and by id", async () => {
          const completed = orders.get("success")!.orderId;
          await page.goto(`${server.url}/sagas?status=FAILED`);
          const statuses = await page.$$eval(
            "table.sagas tbody tr",
            (rows) => rows.map((row) => row.getAttribute("data-status")),
          );
          assert.deepEqual(statuses, ["FAILED"]);
          await page.goto(`${server.url}/sagas`);
          await page.fill("#filter-id", completed.toUpperCase());
          await page.click("form.filters button[type=submit]");
          await page.waitForURL(/id=/);
          const ids = await page.$$eval(
            "table.sagas tbody tr",
            (rows) => rows.map((row) => row.getAttribute("data-order-id")),
          );
          assert.deepEqual(ids, [completed]);
        });

        const failed = orders.get("refund fails")!.orderId;
        let sagaId = "";
        let fields: string[][] = [];
        await test.step("a failed saga's page shows its order, state and a drawn timeline", async () => {
          await page.goto(`${server.url}/sagas?status=COMPENSATION_FAILED`);
          await page.click(`tr[data-order-id="${failed}"] a.id`);
          await page.waitForSelector("svg.timeline");
          sagaId = /\/sagas\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? "";
          assert.match(sagaId, /^[0-9a-f-]{36}$/);
          assert.equal(
            await page.getAttribute("#live section[data-status]", "data-status"),
            "COMPENSATION_FAILED",
          );
          const order = await page.textContent("table.lines");
          assert.match(order ?? "", /Logo T-shirt/);
          assert.match(await page.textContent("main") ?? "", /erin@example\.invalid/);
          assert.match(await page.textContent("main") ?? "", /\$24\.99/);
          const marks = await page.$$eval(
            "svg.timeline .mark",
            (els) => els.map((el) => el.getAttribute("class")),
          );
          assert.ok(marks.includes("mark mark-failure"), `failure marks: ${marks}`);
          assert.ok(marks.includes("mark mark-retry"), `retry marks: ${marks}`);
          assert.ok(await page.$("svg.timeline .bar-stuck"), "the wait for an operator is drawn");
          const rows = await page.$$eval("table.history tbody tr", (els) => els.length);
          assert.equal(rows, marks.length, "one mark per history line");
          assert.ok(await page.$("#retry-link"), "a COMPENSATION_FAILED saga offers a retry");
        });

        await test.step("retrying from the page, once the cause is fixed, is confirmed and reaches COMPENSATED live", async () => {
          await setRefundFailures(t, false);
          await page.click("#retry-link");
          await page.waitForSelector("form.confirm-form");
          assert.match(
            await page.textContent("main") ?? "",
            /send RefundPayment again, then ReleaseInventory/,
          );
          assert.match(await page.textContent("main") ?? "", new RegExp(`operator:${OPERATOR}`));
          const status = await t.sql<{ status: string }[]>`
            select status from orchestrator.sagas where saga_id = ${sagaId}`;
          assert.equal(status[0]?.status, "COMPENSATION_FAILED");
          fields = await page.$$eval(
            "form.confirm-form input[type=hidden]",
            (inputs) =>
              (inputs as unknown as { name: string; value: string }[]).map((
                i,
              ) => [i.name, i.value]),
          );
          await Promise.all([page.waitForURL(/notice=retried/), page.click("#confirm-button")]);
          assert.match(await page.textContent(".notice") ?? "", new RegExp(`operator:${OPERATOR}`));
          await markDocument(page);
          await page.waitForSelector('#live section[data-status="COMPENSATED"]', {
            timeout: LIVE_TIMEOUT_MS,
          });
          assert.ok(await sameDocument(page), "the saga page updated in place");
          const history = await page.textContent("table.history");
          assert.match(history ?? "", new RegExp(`OPERATOR_RETRY\\s*operator:${OPERATOR}`));
          assert.match(history ?? "", /PAYMENT_REFUNDED/);
          assert.ok(await page.$("svg.timeline .mark-operator"), "the operator's retry is drawn");
          assert.equal(await page.$("#retry-link"), null, "no retry offered once COMPENSATED");
          await Deno.mkdir(fileURLToPath(new URL("../../docs/", import.meta.url)), {
            recursive: true,
          });
          await page.screenshot({ path: SCREENSHOT, fullPage: true });
        });

        await test.step("the same confirmation submitted again is refused clearly", async () => {
          const again = await page.evaluate(async ({ action, fields }) => {
            const response = await fetch(action, {
              method: "POST",
              body: new URLSearchParams(fields),
              redirect: "manual",
            });
            return { status: response.status, text: await response.text() };
          }, { action: `/sagas/${sagaId}/retry`, fields });
          assert.equal(again.status, 409, again.text);
          assert.match(
            again.text,
            /This retry was submitted already, .* ago: it was not sent again/,
          );
          const retries = await t.sql<{ n: number }[]>`
            select count(*)::int as n from orchestrator.saga_history
            where saga_id = ${sagaId} and event_type = 'OPERATOR_RETRY'`;
          assert.equal(retries[0]?.n, 1, "one retry recorded");
        });

        await test.step("a retry the CLI refuses is refused with the CLI's message", async () => {
          const completed = orders.get("success")!.orderId;
          const response = await page.goto(`${server.url}/sagas/${completed}/retry`);
          assert.equal(response?.status(), 409);
          assert.match(
            await page.textContent(".problem") ?? "",
            /^Cannot retry saga [0-9a-f-]{36}: it is COMPLETED; only a COMPENSATION_FAILED saga can be retried$/,
          );
        });

        await test.step("a dead letter is shown safely and replayed from the DLQ page with confirmation", async () => {
          const key = crypto.randomUUID();
          const hostile = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`;
          const value = JSON.stringify({ orderId: key, poison: true, note: hostile });
          const metadata = JSON.stringify({
            eventType: "ORDER_CREATED",
            eventId: crypto.randomUUID(),
            orderId: key,
            timestamp: new Date().toISOString(),
          });
          await t.producer.send({
            topic: inNamespace(t.producer, "orders"),
            acks: -1,
            messages: [{ key, value, headers: { metadata, "x-test": hostile } }],
          });
          const row = `tr[data-key="${key}"]`;
          await waitFor(async () => {
            await page.goto(`${server.url}/dlq?type=ORDER_CREATED`);
            return (await page.$(row)) !== null;
          }, { timeoutMs: 30_000, description: "the poison record on the DLQ page" });
          assert.match(await page.textContent(`${row} .replayed`) ?? "", /not replayed/);
          assert.match(await page.textContent(`${row} .note`) ?? "", /Invalid ORDER_CREATED body/);
          await page.click(`${row} a`);
          await page.waitForSelector("pre.value");
          assert.ok(
            (await page.textContent("table.headers") ?? "").includes(hostile),
            "shown as text",
          );
          assert.ok((await page.textContent("pre.value") ?? "").includes("window.__xss=1"));
          assert.equal(await page.$("main script, main img"), null, "no markup from the record");
          assert.equal(
            await page.evaluate(() => (globalThis as { __xss?: number }).__xss),
            undefined,
          );
          await page.click("#replay-link");
          await page.waitForSelector("form.confirm-form");
          assert.match(
            await page.textContent("main") ?? "",
            /Publish orders\.dlq \d+:\d+ again to orders/,
          );
          await Promise.all([page.waitForURL(/notice=replayed/), page.click("#confirm-button")]);
          assert.match(
            await page.textContent(".notice") ?? "",
            /Replayed to orders as operator:test-operator/,
          );
          assert.match(
            await page.textContent("main") ?? "",
            /1×, last at .* by operator:test-operator/,
          );
          const replays = await t.sql<{ replayed_by: string }[]>`
            select replayed_by from orchestrator.dlq_replays where record_key = ${key}`;
          assert.deepEqual(replays.map((r) => r.replayed_by), [`operator:${OPERATOR}`]);

          const again = await page.goto(`${page.url().replace(/\?.*$/, "")}/replay`);
          assert.equal(again?.status(), 409);
          assert.match(
            await page.textContent(".problem") ?? "",
            /^Cannot replay orders\.dlq \d+:\d+: it was replayed already \(1×, last at .* by operator:test-operator\)/,
          );
        });

        await test.step("bad input gets a clear page with the right status", async () => {
          const unknown = crypto.randomUUID();
          const missing = await page.goto(`${server.url}/sagas/${unknown}`);
          assert.equal(missing?.status(), 404);
          assert.equal(await page.textContent("h1"), "No such saga");
          assert.equal(
            await page.textContent(".problem"),
            `No saga has saga id or order id ${unknown}`,
          );
          const malformed = await page.goto(`${server.url}/sagas/not-a-uuid`);
          assert.equal(malformed?.status(), 400);
          assert.match(await page.textContent(".problem") ?? "", /"not-a-uuid" is not a saga id/);
          const record = await page.goto(`${server.url}/dlq/99:0`);
          assert.equal(record?.status(), 404);
          assert.match(await page.textContent(".problem") ?? "", /^Cannot find orders\.dlq 99:0/);
          const nowhere = await page.goto(`${server.url}/nowhere`);
          assert.equal(nowhere?.status(), 404);
          assert.doesNotMatch(await page.content(), /\bat \S+\.ts:\d+/, "no stack trace");
          const crossSite = await fetch(`${server.url}/sagas/${sagaId}/retry`, {
            method: "POST",
            headers: {
              origin: "http://evil.example",
              "content-type": "application/x-www-form-urlencoded",
            },
            body: "confirm=yes",
          });
          assert.equal(crossSite.status, 403);
          assert.match(await crossSite.text(), /Refused a request from another site/);
        });

        await test.step("the saga page reads at phone width", async () => {
          await page.setViewportSize({ width: 390, height: 844 });
          await page.goto(`${server.url}/sagas/${sagaId}`);
          const overflow = await page.evaluate(() =>
            (globalThis as Dom).document.documentElement.scrollWidth -
            (globalThis as Dom).document.documentElement.clientWidth
          );
          assert.ok(overflow <= 1, `no sideways scrolling of the page (${overflow}px)`);
          await page.keyboard.press("Tab");
          assert.equal(
            await page.evaluate(() => (globalThis as Dom).document.activeElement?.textContent),
            "Skip to the content",
          );
        });
        assert.deepEqual(pageErrors, [], "no script errors in the pages");
      } finally {
        await context.close().catch(() => {});
        await Deno.remove(profile, { recursive: true }).catch(() => {});
        const { status, stderr } = await server.stop();
        assert.ok(status.success || status.signal === "SIGTERM", `console exit: ${stderr}`);
        assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace from the console");
      }
    });
  },
});
