/**
 * The console's stylesheet and script, served from the console itself (nothing from the
 * internet, no build step). The script is small and plain: live updates over server-sent events
 * (fetching the page's live fragment again on each saga event, or polling when the stream is
 * gone) and one submit per confirmation form.
 */

/** `/assets/console.css`. */
export const CONSOLE_CSS = `
:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #f6f8fa; --card: #ffffff; --line: #d0d7de;
  --accent: #0b5cad; --focus: #f0a000; --danger: #b42318; --ok: #116329;
  --st-run: #0550ae; --st-run-bg: #ddf4ff; --st-done: #116329; --st-done-bg: #dafbe1;
  --st-undo: #6f3fb8; --st-undo-bg: #f3ecff; --st-comp: #7d4e00; --st-comp-bg: #fff1c2;
  --st-fail: #a40e26; --st-fail-bg: #ffe4e8; --st-off: #424a53; --st-off-bg: #eaeef2;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
body { margin: 0; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible,
pre:focus-visible, .mark-link:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
.skip:focus { left: .5rem; z-index: 10; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; align-items: center; padding: .6rem 1.25rem;
  background: #1f2937; color: #f9fafb; }
.top a { color: #f9fafb; text-decoration: none; }
.brand { font-weight: 700; letter-spacing: .01em; }
.top nav { display: flex; gap: .25rem; }
.top nav a { padding: .3rem .65rem; border-radius: 6px; }
.top nav a[aria-current="page"] { background: #374151; box-shadow: inset 0 -2px 0 #93c5fd; }
.live-state { margin: 0 0 0 auto; font-size: .85rem; color: #d1d5db; }
.live-state.live::before { content: "● "; color: #4ade80; }
.live-state.polling::before { content: "● "; color: #facc15; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.45rem; margin: .4rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; display: flex; gap: .5rem; align-items: center; }
.crumbs { margin: 0; font-size: .9rem; color: var(--muted); }
.muted { color: var(--muted); }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.1rem;
  margin: 0 0 1rem; }
.summary { margin: .25rem 0 .6rem; }
.alarm { color: var(--danger); font-weight: 600; }
.ok { color: var(--ok); }
.counts { list-style: none; display: flex; flex-wrap: wrap; gap: .4rem; padding: 0; margin: 0 0 1rem; }
.count { display: inline-flex; gap: .35rem; align-items: baseline; padding: .3rem .6rem; border-radius: 999px;
  text-decoration: none; border: 1px solid transparent; }
.count-n { font-weight: 700; font-variant-numeric: tabular-nums; }
.count-label { font-size: .8rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .78rem; font-weight: 600;
  letter-spacing: .02em; background: var(--st-off-bg); color: var(--st-off); white-space: nowrap; }
.st-STARTED, .st-IN_PROGRESS { background: var(--st-run-bg); color: var(--st-run); }
.st-COMPLETED { background: var(--st-done-bg); color: var(--st-done); }
.st-COMPENSATING { background: var(--st-undo-bg); color: var(--st-undo); }
.st-COMPENSATED { background: var(--st-comp-bg); color: var(--st-comp); }
.st-FAILED, .st-COMPENSATION_FAILED { background: var(--st-fail-bg); color: var(--st-fail); }
.st-CANCELLED { background: var(--st-off-bg); color: var(--st-off); }
.filters { display: flex; flex-wrap: wrap; gap: .75rem 1.25rem; align-items: flex-end; background: var(--card);
  border: 1px solid var(--line); border-radius: 10px; padding: .75rem 1rem; margin-bottom: 1rem; }
.filters fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .25rem .8rem; }
.filters legend { font-weight: 600; font-size: .85rem; margin-bottom: .25rem; padding: 0; }
.check { font-size: .85rem; white-space: nowrap; }
.field { display: flex; flex-direction: column; gap: .2rem; flex: 1 1 18rem; }
.field label { font-weight: 600; font-size: .85rem; }
input[type=text], input:not([type]), select { font: inherit; padding: .4rem .55rem; border: 1px solid #8c959f;
  border-radius: 6px; min-width: 0; }
button, .button { font: inherit; display: inline-block; padding: .42rem .9rem; border-radius: 6px; border: 1px solid #0a4f96;
  background: var(--accent); color: #fff; text-decoration: none; cursor: pointer; }
.button.secondary { background: #fff; color: var(--fg); border-color: #8c959f; }
button.danger, .button.danger { background: var(--danger); border-color: #8a1a12; }
button:disabled { opacity: .6; cursor: progress; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
caption { text-align: left; color: var(--muted); font-size: .85rem; padding: .3rem 0; }
th, td { text-align: left; padding: .45rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { overflow-wrap: anywhere; }
tr.needs-operator { background: #fff5f5; }
.flag { font-size: .75rem; color: var(--danger); font-weight: 600; }
tr.ignored td { color: var(--muted); }
tr:target { background: #fff8c5; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .5rem 1.25rem; margin: 0; }
.facts div { min-width: 0; }
.facts .wide { grid-column: 1 / -1; }
table.history { font-size: .9rem; }
table.history th, table.history td { padding: .4rem .45rem; }
table.history td.note { min-width: 16rem; }
table.history td:nth-child(-n+3) { white-space: nowrap; }
.facts dt { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.callout { margin-top: 1rem; border-left: 4px solid var(--danger); background: #fff5f5; padding: .6rem .9rem; border-radius: 6px; }
.callout p { margin: .3rem 0; }
.notice { background: #dafbe1; border: 1px solid #4ac26b; padding: .6rem .9rem; border-radius: 8px; }
.problem { background: #ffebe9; border: 1px solid #ff8182; padding: .6rem .9rem; border-radius: 8px; overflow-wrap: anywhere; }
.empty { color: var(--muted); }
.value { background: #f6f8fa; border: 1px solid var(--line); padding: .75rem; border-radius: 6px; overflow: auto;
  max-height: 28rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.plan li { margin: .25rem 0; }
.confirm-form { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
.timeline-wrap { overflow-x: auto; }
svg.timeline { width: 100%; min-width: 640px; height: auto; display: block; font-size: 12px; }
svg.timeline text { fill: #24292f; }
svg.timeline .lane line { stroke: #d8dee4; stroke-dasharray: 2 4; }
svg.timeline .lane text { font-weight: 600; font-size: 12.5px; }
svg.timeline .lane-phase { font-weight: 400; fill: var(--muted); }
svg.timeline .tick line { stroke: #eaeef2; }
svg.timeline .tick text, svg.timeline .axis-label, svg.timeline .band-label { fill: var(--muted); font-size: 11px; }
svg.timeline .axis { stroke: #8c959f; }
svg.timeline .band { stroke: #fff; stroke-width: 1; }
svg.timeline .band.st-STARTED, svg.timeline .band.st-IN_PROGRESS { fill: #54aeff; }
svg.timeline .band.st-COMPLETED { fill: #4ac26b; }
svg.timeline .band.st-COMPENSATING { fill: #a475f9; }
svg.timeline .band.st-COMPENSATED { fill: #d4a72c; }
svg.timeline .band.st-FAILED, svg.timeline .band.st-COMPENSATION_FAILED { fill: #fa4549; }
svg.timeline .band.st-CANCELLED { fill: #8c959f; }
svg.timeline .bar-forward { fill: #b6e3ff; stroke: #54aeff; }
svg.timeline .bar-compensation { fill: #e0d4fd; stroke: #a475f9; }
svg.timeline .bar-stuck { fill: #ffebe9; stroke: #fa4549; stroke-dasharray: 4 3; }
svg.timeline .mark circle, svg.timeline .mark path { stroke: #fff; stroke-width: 1.5; }
svg.timeline .mark-start circle { fill: #0969da; }
svg.timeline .mark-success circle { fill: #1a7f37; }
svg.timeline .mark-failure circle { fill: #cf222e; }
svg.timeline .mark-failure .cross { stroke: #fff; stroke-width: 2; fill: none; }
svg.timeline .mark-retry path { fill: #bf8700; }
svg.timeline .mark-operator path { fill: #0550ae; stroke: #fff; }
svg.timeline .mark-ignored circle { fill: #fff; stroke: #8c959f; }
svg.timeline .mark-other circle { fill: #57606a; }
svg.timeline .mark-number { font-size: 10px; fill: var(--muted); }
svg.timeline .mark-actor { font-size: 10.5px; fill: #0550ae; font-weight: 600; }
svg.timeline .mark-link:hover .mark circle, svg.timeline .mark-link:hover .mark path { stroke: #24292f; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .3rem 1rem; padding: 0; margin: .6rem 0 0; font-size: .82rem; color: var(--muted); }
.key { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; margin-right: .3rem; border-radius: 3px; }
.key-forward { background: #b6e3ff; border: 1px solid #54aeff; }
.key-compensation { background: #e0d4fd; border: 1px solid #a475f9; }
.key-stuck { background: #ffebe9; border: 1px dashed #fa4549; }
.key-success { background: #1a7f37; border-radius: 50%; }
.key-failure { background: #cf222e; border-radius: 50%; }
.key-retry { background: #bf8700; clip-path: polygon(50% 0, 100% 100%, 0 100%); border-radius: 0; }
.key-operator { background: #0550ae; transform: rotate(45deg) scale(.8); border-radius: 0; }
@media (max-width: 720px) {
  html { font-size: 14px; }
  main { padding: .75rem .75rem 2rem; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border: 1px solid var(--line); border-radius: 8px; margin-bottom: .6rem; padding: .25rem 0; }
  table.stack caption { display: block; }
  table.stack td { border: 0; padding: .2rem .7rem .2rem 8.4rem; position: relative; text-align: left;
    min-height: 1.6rem; min-width: 0; white-space: normal; }
  table.stack td::before { content: attr(data-label); position: absolute; left: .7rem; width: 7.2rem;
    font-size: .75rem; line-height: 1.9; text-transform: uppercase; color: var(--muted); }
  table.stack tfoot { display: none; }
}
`;

/** `/assets/console.js`. */
export const CONSOLE_JS = `"use strict";
(function () {
  // One submit per confirmation form; a page shown again from the back/forward cache is usable.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
    if (form.dataset.submitted === "1") { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = true;
      if (button.dataset.busy) button.textContent = button.dataset.busy;
    });
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  var main = document.querySelector("main[data-events]");
  if (!main) return;
  var state = document.getElementById("live-state");
  var timer = null, busy = false, again = false, poller = null, refreshes = 0;
  function say(text, mode) {
    if (!state) return;
    state.textContent = text;
    state.className = "live-state " + (mode || "");
  }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(main.dataset.fragment, { headers: { "accept": "text/html" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        var live = document.getElementById("live");
        if (text === null || !live) return;
        var focused = document.activeElement && document.activeElement.id;
        live.innerHTML = text;
        if (focused) { var el = document.getElementById(focused); if (el) el.focus(); }
        refreshes += 1;
        document.body.dataset.refreshes = String(refreshes);
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }
  function schedule() {
    if (timer !== null) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 150);
  }
  function poll(on) {
    if (on && poller === null) poller = setInterval(refresh, 3000);
    if (!on && poller !== null) { clearInterval(poller); poller = null; }
  }
  var source = new EventSource(main.dataset.events);
  source.addEventListener("mode", function (event) {
    if (event.data === "live") { say("Live", "live"); poll(false); }
    else { say("Live updates unavailable (no Redis): refreshing every 3 s", "polling"); poll(true); }
    refresh();
  });
  source.addEventListener("saga", function (event) {
    try {
      var update = JSON.parse(event.data);
      say("Live: saga " + String(update.sagaId).slice(0, 8) + " is " + update.status, "live");
    } catch (e) {}
    schedule();
  });
  source.addEventListener("error", function () {
    say("Live updates interrupted: reconnecting…", "polling");
    poll(true);
  });
})();
`;
