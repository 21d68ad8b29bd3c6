// Internal to the CLI: the page `flotilla dashboard` serves at `/`.
//
// One self-contained document — inline CSS and vanilla JS, no external asset —
// that polls `GET /api/overview` every 2 s and resumes parked checkouts with
// `POST /api/checkouts/<orderId>/resume` (with the `x-flotilla-dashboard`
// header the server demands). Everything that comes from the services is put
// in the page with `textContent`, never as HTML.

/** The title of the dashboard page. */
export const DASHBOARD_TITLE = "Flotilla dashboard";

/** The dashboard page. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${DASHBOARD_TITLE}</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M2 11h12l-2 3H4z' fill='%2338bdf8'/%3E%3Cpath d='M8 2v8M8 3l4 6H8' stroke='%23e2e8f0' fill='none'/%3E%3C/svg%3E">
<style>
  :root {
    --bg: #0b1120; --panel: #111a2e; --panel2: #16223b; --line: #23324f;
    --text: #e2e8f0; --muted: #8394b4; --ok: #22c55e; --warn: #f59e0b;
    --bad: #ef4444; --info: #38bdf8; --chaos: #c084fc; --idle: #64748b;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text);
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  header { display: flex; align-items: center; gap: 14px; padding: 14px 24px;
    border-bottom: 1px solid var(--line); background: #0d1528; position: sticky; top: 0; z-index: 2; }
  header h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
  header .system { color: var(--muted); }
  header .spacer { flex: 1; }
  .live { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
  .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--idle); }
  .dot.on { background: var(--ok); box-shadow: 0 0 0 0 rgba(34,197,94,.6); animation: pulse 2s infinite; }
  .dot.off { background: var(--bad); }
  @keyframes pulse { 0% { box-shadow: 0 0 0 0 rgba(34,197,94,.6); }
    70% { box-shadow: 0 0 0 8px rgba(34,197,94,0); } 100% { box-shadow: 0 0 0 0 rgba(34,197,94,0); } }
  main { padding: 20px 24px 40px; max-width: 1500px; margin: 0 auto; }
  .banner { padding: 12px 16px; border-radius: 10px; background: #3b1d1d; border: 1px solid #7f1d1d;
    margin-bottom: 16px; display: none; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-bottom: 22px; }
  .tile { background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 14px 16px; }
  .tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; }
  .tile .value { font-size: 28px; font-weight: 650; margin-top: 4px; font-variant-numeric: tabular-nums; }
  .tile.ok .value { color: var(--ok); } .tile.warn .value { color: var(--warn); }
  .tile.bad .value { color: var(--bad); } .tile.chaos .value { color: var(--chaos); }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin: 26px 0 10px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 14px; }
  .card { background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 16px;
    border-top: 4px solid var(--idle); }
  .card.running { border-top-color: var(--ok); } .card.starting, .card.restarting, .card.stopping { border-top-color: var(--warn); }
  .card.failed { border-top-color: var(--bad); } .card.stopped { border-top-color: var(--idle); opacity: .75; }
  .card-head { display: flex; align-items: center; gap: 10px; }
  .card-head .name { font-size: 18px; font-weight: 650; }
  .pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
    background: var(--panel2); color: var(--muted); border: 1px solid var(--line); }
  .pill.running { color: #052e16; background: var(--ok); border-color: var(--ok); }
  .pill.starting, .pill.restarting, .pill.stopping { color: #451a03; background: var(--warn); border-color: var(--warn); }
  .pill.failed { color: #fff; background: var(--bad); border-color: var(--bad); }
  .meta { color: var(--muted); font-size: 12.5px; margin: 6px 0 12px; }
  .meta b { color: var(--text); font-weight: 600; }
  .meta .restarted { color: var(--warn); }
  .stats { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
  .stat { background: var(--panel2); border-radius: 10px; padding: 10px 12px; min-height: 78px; }
  .stat .label { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .06em; }
  .stat .big { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
  .stat .unit { font-size: 12px; color: var(--muted); font-weight: 400; margin-left: 3px; }
  .spark { width: 100%; height: 26px; display: block; margin-top: 2px; }
  .bar { height: 6px; border-radius: 3px; background: #0b1322; overflow: hidden; margin-top: 8px; }
  .bar > div { height: 100%; background: var(--ok); }
  .section-label { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .06em; margin: 12px 0 6px; }
  .chips { display: flex; flex-wrap: wrap; gap: 6px; }
  .chip { font-size: 12px; padding: 3px 9px; border-radius: 8px; background: var(--panel2); border: 1px solid var(--line);
    display: inline-flex; gap: 6px; align-items: center; }
  .chip .sw { width: 8px; height: 8px; border-radius: 50%; background: var(--idle); }
  .chip.closed .sw { background: var(--ok); } .chip.half_open .sw { background: var(--warn); }
  .chip.open { border-color: var(--bad); } .chip.open .sw { background: var(--bad); }
  .chip.rule { border-color: #6b21a8; color: #e9d5ff; } .chip.rule.disabled { opacity: .5; text-decoration: line-through; }
  .none { color: var(--idle); font-size: 12.5px; }
  .problem { color: var(--warn); font-size: 12px; margin-top: 8px; }
  .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 16px; }
  .stack { display: flex; height: 18px; border-radius: 9px; overflow: hidden; background: #0b1322; }
  .stack > div { height: 100%; min-width: 3px; }
  .legend { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 10px; font-size: 13px; }
  .legend span.sw { display: inline-block; width: 10px; height: 10px; border-radius: 3px; margin-right: 6px; }
  .legend b { font-variant-numeric: tabular-nums; }
  table { width: 100%; border-collapse: collapse; margin-top: 14px; }
  th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .06em; font-weight: 600; }
  td .code { color: var(--bad); font-weight: 600; }
  td .msg { color: var(--muted); font-size: 12.5px; }
  button { background: var(--info); color: #082f49; border: 0; border-radius: 8px; padding: 6px 14px;
    font-weight: 650; cursor: pointer; }
  button:disabled { opacity: .55; cursor: progress; }
  .all-clear { color: var(--ok); margin-top: 12px; }
  #toasts { position: fixed; right: 18px; bottom: 18px; display: flex; flex-direction: column; gap: 8px; z-index: 5; }
  .toast { background: var(--panel2); border: 1px solid var(--line); border-left: 4px solid var(--info);
    padding: 10px 14px; border-radius: 10px; max-width: 460px; box-shadow: 0 6px 24px rgba(0,0,0,.4); }
  .toast.ok { border-left-color: var(--ok); } .toast.bad { border-left-color: var(--bad); }
  footer { color: var(--idle); font-size: 12px; text-align: center; padding: 10px 0 24px; }
</style>
</head>
<body>
<header>
  <h1>⛵ Flotilla</h1><span class="system" id="system"></span>
  <span class="spacer"></span>
  <span class="live"><span class="dot" id="dot"></span><span id="updated">connecting…</span></span>
</header>
<main>
  <div class="banner" id="banner"></div>
  <section class="tiles" id="tiles"></section>
  <h2>Services</h2>
  <section class="grid" id="services"></section>
  <h2>Checkouts</h2>
  <section class="panel" id="checkouts"></section>
</main>
<footer>refreshes every 2 s · served on 127.0.0.1 only · <span class="mono" id="dataRoot"></span></footer>
<div id="toasts"></div>
<script>
"use strict";
const REFRESH_MS = 2000;
const HISTORY = 60;
const history = new Map();
const resuming = new Set();
const STATUS_COLORS = { RUNNING: "#38bdf8", COMPENSATING: "#f59e0b", COMPLETED: "#22c55e",
  COMPENSATED: "#64748b", NEEDS_ATTENTION: "#ef4444" };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d > 0) return d + "d " + h + "h";
  if (h > 0) return h + "h " + m + "m";
  if (m > 0) return m + "m " + (s % 60) + "s";
  return s + "s";
}

function rate(value) {
  if (value === null || value === undefined) return "—";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function percent(ratio) {
  if (ratio === null || ratio === undefined) return "—";
  const p = ratio * 100;
  return (p === 0 || p >= 10 ? p.toFixed(0) : p.toFixed(1)) + "%";
}

function ratioColor(ratio) {
  if (ratio === null || ratio === undefined) return "var(--idle)";
  return ratio < 0.01 ? "var(--ok)" : ratio < 0.05 ? "var(--warn)" : "var(--bad)";
}

function sparkline(points) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 100 26");
  svg.setAttribute("preserveAspectRatio", "none");
  const values = points.filter((p) => p !== null);
  if (values.length < 2) return svg;
  const max = Math.max(...values, 0.001);
  const step = 100 / (HISTORY - 1);
  const offset = (HISTORY - points.length) * step;
  let path = "";
  points.forEach((p, i) => {
    if (p === null) return;
    const x = (offset + i * step).toFixed(1), y = (24 - (p / max) * 22).toFixed(1);
    path += (path === "" ? "M" : "L") + x + " " + y + " ";
  });
  const line = document.createElementNS(ns, "path");
  line.setAttribute("d", path);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#38bdf8");
  line.setAttribute("stroke-width", "1.6");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return svg;
}

function describeRule(rule) {
  const f = rule.fault || {};
  let what = f.type || "fault";
  if (f.type === "error") what = "error " + (f.code || f.status || f.kind || "");
  else if (f.type === "latency" && f.latency) what = "latency " + JSON.stringify(f.latency).replace(/["{}]/g, "");
  else if (f.type === "abort") what = "abort " + f.phase;
  else if (f.type === "duplicate") what = "duplicate ×" + f.copies;
  const scope = [];
  if (rule.peer && rule.peer !== "*") scope.push("peer " + rule.peer);
  if (rule.action && rule.action !== "*") scope.push(rule.action);
  if (rule.side) scope.push(rule.side.join("+"));
  return rule.id + ": " + what + (scope.length ? " on " + scope.join(" ") : "") + " " + rule.percentage + "%";
}

function toast(text, kind) {
  const node = el("div", { class: "toast " + (kind || ""), text });
  document.getElementById("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

function tile(label, value, kind) {
  return el("div", { class: "tile " + (kind || "") },
    el("div", { class: "label", text: label }), el("div", { class: "value", text: value }));
}

function renderTiles(overview) {
  const services = overview.services;
  const running = services.filter((s) => s.state === "running").length;
  let rps = 0, requests = 0, errors = 0, anyRate = false, openBreakers = 0, rules = 0;
  for (const s of services) {
    if (s.traffic && s.traffic.requestRate !== null) {
      anyRate = true;
      rps += s.traffic.requestRate;
      requests += s.traffic.windowRequests;
      errors += s.traffic.windowErrors;
    }
    openBreakers += s.breakers.filter((b) => b.state !== "closed").length;
    if (s.chaos && s.chaos.enabled) rules += s.chaos.rules.filter((r) => r.enabled).length;
  }
  const ratio = requests > 0 ? errors / requests : null;
  const attention = overview.checkouts ? overview.checkouts.attention.length : 0;
  document.getElementById("tiles").replaceChildren(
    tile("Services running", running + " / " + services.length,
      services.length > 0 && running === services.length ? "ok" : "bad"),
    tile("Requests / s", anyRate ? rate(rps) : "—"),
    tile("Error ratio", percent(ratio), ratio === null ? "" : ratio < 0.01 ? "ok" : ratio < 0.05 ? "warn" : "bad"),
    tile("Breakers not closed", String(openBreakers), openBreakers > 0 ? "bad" : "ok"),
    tile("Needs attention", String(attention), attention > 0 ? "bad" : "ok"),
    tile("Chaos rules", String(rules), rules > 0 ? "chaos" : ""),
  );
}

function renderService(s) {
  const points = history.get(s.name) || [];
  const traffic = s.traffic;
  const ratio = traffic ? traffic.errorRatio : null;
  const meta = el("div", { class: "meta" },
    "pid ", el("b", { class: "mono", text: s.pid === null ? "—" : String(s.pid) }),
    " · port ", el("b", { class: "mono", text: String(s.port) }),
    " · up ", el("b", { text: s.state === "running" ? duration(s.uptimeSeconds) : "—" }),
    " · ", el("span", { class: s.restarts > 0 ? "restarted" : "",
      text: s.restarts + (s.restarts === 1 ? " restart" : " restarts") }));
  const reqStat = el("div", { class: "stat" },
    el("div", { class: "label", text: "requests" }),
    el("div", { class: "big" }, traffic ? rate(traffic.requestRate) : "—", el("span", { class: "unit", text: "/s" })),
    sparkline(points));
  const errStat = el("div", { class: "stat" },
    el("div", { class: "label", text: "errors" }),
    el("div", { class: "big", style: "color:" + ratioColor(ratio) }, percent(ratio)),
    el("div", { class: "bar" }, el("div", { style: "width:" + Math.min(100, (ratio || 0) * 100).toFixed(1) +
      "%;background:" + ratioColor(ratio) })),
    el("div", { class: "unit", text: traffic ? traffic.errors + " of " + traffic.requests + " since start" : "" }));
  const card = el("article", { class: "card " + s.state },
    el("div", { class: "card-head" }, el("span", { class: "name", text: s.name }),
      el("span", { class: "pill " + s.state, text: s.state })),
    meta, el("div", { class: "stats" }, reqStat, errStat));
  card.append(el("div", { class: "section-label", text: "circuit breakers" }));
  if (s.breakers.length === 0) card.append(el("div", { class: "none", text: "no peer called yet" }));
  else {
    card.append(el("div", { class: "chips" }, ...s.breakers.map((b) =>
      el("span", { class: "chip " + b.state, title: b.peer + " " + b.endpoint + ": " + b.state },
        el("span", { class: "sw" }), el("span", { text: b.peer }),
        el("span", { class: "mono", style: "color:var(--muted)", text: b.endpoint }),
        el("b", { text: b.state.replace("_", "-") })))));
  }
  const outcomes = Object.entries(s.sagas || {});
  if (outcomes.length > 0) {
    card.append(el("div", { class: "section-label", text: "sagas finished" }),
      el("div", { class: "chips" }, ...outcomes.map(([outcome, n]) =>
        el("span", { class: "chip" }, el("span", { text: outcome }), el("b", { text: String(n) })))));
  }
  if (s.chaos && s.chaos.rules.length > 0) {
    card.append(el("div", { class: "section-label", text: "chaos" + (s.chaos.enabled ? "" : " (switched off)") }),
      el("div", { class: "chips" }, ...s.chaos.rules.map((r) =>
        el("span", { class: "chip rule" + (r.enabled && s.chaos.enabled ? "" : " disabled"), text: "⚡ " + describeRule(r) }))));
  }
  for (const problem of s.problems) card.append(el("div", { class: "problem", text: "⚠ " + problem }));
  return card;
}

async function resume(orderId, button) {
  resuming.add(orderId);
  button.disabled = true;
  button.textContent = "Resuming…";
  try {
    const response = await fetch("/api/checkouts/" + encodeURIComponent(orderId) + "/resume", {
      method: "POST", headers: { "x-flotilla-dashboard": "1" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) toast("Resume of " + orderId.slice(0, 8) + " failed: " + (body.code || response.status) +
      (body.detail ? " — " + body.detail : ""), "bad");
    else if (body.status === "NEEDS_ATTENTION") toast("Checkout " + orderId.slice(0, 8) + " is parked again: " +
      (body.error ? body.error.code + " — " + body.error.message : "its cause is not fixed yet"), "bad");
    else toast("Checkout " + orderId.slice(0, 8) + " is " + body.status, "ok");
  } catch (error) {
    toast("Resume of " + orderId.slice(0, 8) + " failed: " + error, "bad");
  } finally {
    resuming.delete(orderId);
    refresh();
  }
}

function renderCheckouts(checkouts) {
  const panel = document.getElementById("checkouts");
  if (!checkouts) {
    panel.replaceChildren(el("div", { class: "none", text: "no order service runs" }));
    return;
  }
  const entries = Object.entries(checkouts.counts);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const stack = el("div", { class: "stack" }, ...entries.filter(([, n]) => n > 0).map(([status, n]) =>
    el("div", { style: "flex:" + n + ";background:" + STATUS_COLORS[status], title: status + ": " + n })));
  const legend = el("div", { class: "legend" }, ...entries.map(([status, n]) =>
    el("span", {}, el("span", { class: "sw", style: "background:" + STATUS_COLORS[status] }),
      status.replace("_", " ").toLowerCase() + " ",
      el("b", { text: (n >= checkouts.limit ? n + "+" : String(n)) }))));
  const children = [stack, legend];
  if (total === 0) children.unshift(el("div", { class: "none", text: "no checkout yet" }));
  if (checkouts.attention.length === 0) {
    children.push(el("div", { class: "all-clear", text: "✓ no checkout needs attention" }));
  } else {
    const rows = checkouts.attention.map((c) => {
      const button = el("button", { text: resuming.has(c.orderId) ? "Resuming…" : "Resume" });
      button.disabled = resuming.has(c.orderId);
      button.addEventListener("click", () => resume(c.orderId, button));
      return el("tr", {},
        el("td", { class: "mono", text: c.orderId }),
        el("td", { text: c.protocol }),
        el("td", {}, el("div", { class: "code", text: c.error ? c.error.code : "—" }),
          el("div", { class: "msg", text: c.error ? c.error.message : "" })),
        el("td", { text: new Date(c.updatedAt).toLocaleTimeString() }),
        el("td", {}, button));
    });
    children.push(el("table", {},
      el("thead", {}, el("tr", {}, ...["Order", "Protocol", "Error", "Updated", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows)));
  }
  if (checkouts.problem) children.push(el("div", { class: "problem", text: "⚠ " + checkouts.problem }));
  panel.replaceChildren(...children);
}

function render(overview) {
  document.getElementById("system").textContent = overview.system ? "· " + overview.system : "";
  document.getElementById("dataRoot").textContent = overview.dataRoot;
  const banner = document.getElementById("banner");
  if (!overview.supervisor) {
    banner.textContent = "No supervisor runs on " + overview.dataRoot + " — start the shop with deno task start.";
    banner.style.display = "block";
  } else banner.style.display = "none";
  for (const s of overview.services) {
    const points = history.get(s.name) || [];
    points.push(s.traffic ? s.traffic.requestRate : null);
    while (points.length > HISTORY) points.shift();
    history.set(s.name, points);
  }
  renderTiles(overview);
  document.getElementById("services").replaceChildren(...overview.services.map(renderService));
  renderCheckouts(overview.checkouts);
}

let timer;
async function refresh() {
  clearTimeout(timer);
  const dot = document.getElementById("dot"), updated = document.getElementById("updated");
  try {
    const response = await fetch("/api/overview", { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
    dot.className = "dot on";
    updated.textContent = "live · " + new Date().toLocaleTimeString();
  } catch (error) {
    dot.className = "dot off";
    updated.textContent = "disconnected (" + error.message + ")";
  }
  timer = setTimeout(refresh, REFRESH_MS);
}
refresh();
</script>
</body>
</html>
`;
