// The merchant dashboard: analytics, approvals, the audit trail and a live feed, all read from the
// gateway's admin API. Signing in sends the admin token once (POST /admin/api/session); the
// gateway answers with an HttpOnly, SameSite=Strict session cookie that this script never sees,
// and a CSRF token that every state-changing call sends back in X-CSRF-Token. The admin token is
// neither kept by the page nor put in any URL.
// Charts are Chart.js (Debian's libjs-chart.js, served at /vendor/chart.js/); everything else is
// plain DOM built with textContent, so nothing the API returns is ever parsed as HTML.
"use strict";

(() => {
  const LIVE_CAP = 50;            // live feed items kept on screen
  const TRAIL_ROWS = 25;          // audit trail entries shown
  const REFRESH_MS = 30_000;      // auto-refresh period
  const BUCKETS = { 3600: 5, 86400: 60, 604800: 360, 2592000: 1440 }; // range seconds → bucket minutes
  const PALETTE = ["#2f6b4f", "#3b6fb6", "#c2410c", "#7c3aed", "#0e7490", "#b45309", "#be185d", "#4d7c0f", "#64748b", "#a16207"];

  const state = {
    signedIn: false,
    csrf: null,      // the session's CSRF token (in memory only)
    currency: "USD",
    agentNames: new Map(),
    charts: {},
    refreshTimer: null,
    clockTimer: null,
    live: null,
    liveRetry: null,
    liveDelay: 2000,
    livePaused: false,
    liveBuffer: [],
    liveLastId: 0,
    trailCount: 0,
    trailLastSeq: 0,
    generation: 0,   // bumps on sign-in/out so stale answers are ignored
  };

  const $ = (id) => document.getElementById(id);

  // --- formatting for people ------------------------------------------------------------------

  const numberFormat = new Intl.NumberFormat();
  const percentFormat = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const moneyFormats = new Map();

  function count(n) {
    return n === null || n === undefined ? "—" : numberFormat.format(n);
  }

  function percent(x) {
    return x === null || x === undefined || Number.isNaN(x) ? "—" : percentFormat.format(x);
  }

  /** Integer minor units + ISO 4217 currency → "$1,234.50" (the currency's own decimals). */
  function money(value, currency) {
    let amount = value;
    let code = currency;
    if (value && typeof value === "object") {
      amount = value.amount;
      code = value.currency;
    }
    if (amount === null || amount === undefined) return "—";
    code = code || state.currency || "USD";
    let format = moneyFormats.get(code);
    if (!format) {
      try {
        format = new Intl.NumberFormat(undefined, { style: "currency", currency: code });
      } catch {
        format = { format: (v) => `${numberFormat.format(v)} ${code}`, resolvedOptions: () => ({ maximumFractionDigits: 2 }) };
      }
      moneyFormats.set(code, format);
    }
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(amount / 10 ** digits);
  }

  /** Microseconds → "850 µs", "2.5 ms", "1.2 s". */
  function latency(us) {
    if (us === null || us === undefined) return "—";
    if (us < 1000) return `${numberFormat.format(us)} µs`;
    if (us < 1_000_000) return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: us < 10_000 ? 1 : 0 }).format(us / 1000)} ms`;
    return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(us / 1_000_000)} s`;
  }

  /** "3 minutes ago", "in 23 hours", "now". */
  function relative(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    const units = [["year", 31_536_000], ["month", 2_592_000], ["week", 604_800], ["day", 86_400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return relativeFormat.format(Math.trunc(seconds / size), unit);
    }
    return Math.abs(seconds) < 10 ? relativeFormat.format(0, "second") : relativeFormat.format(seconds, "second");
  }

  function stageName(stage) {
    const names = {
      finding: "Finding", evaluating: "Evaluating", trust_checking: "Trust-checking", transacting: "Transacting",
      using: "Using", recommending: "Recommending", merchant: "Merchant",
    };
    return names[stage] || (stage || "").replace(/_/g, " ");
  }

  // --- DOM helpers ------------------------------------------------------------------------------

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A <time> that shows a relative time and keeps it current; the exact time is its title. */
  function timeEl(iso) {
    if (!iso) return el("span", { text: "—" });
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return el("span", { text: iso });
    return el("time", { datetime: iso, title: dateTimeFormat.format(date), dataset: { relative: "" }, text: relative(date) });
  }

  function refreshRelativeTimes() {
    for (const node of document.querySelectorAll("time[data-relative]")) {
      node.textContent = relative(new Date(node.getAttribute("datetime")));
    }
  }

  function emptyRow(tbody, columns, message) {
    tbody.append(el("tr", { class: "empty" }, el("td", { colspan: String(columns), text: message })));
  }

  function numCell(text, raw) {
    return el("td", { class: "num", text, dataset: raw === undefined || raw === null ? {} : { value: String(raw) } });
  }

  function setMessage(node, text, kind = "") {
    node.textContent = text || "";
    node.className = `message${kind ? " " + kind : ""}`;
  }

  // --- the admin API ----------------------------------------------------------------------------

  class AuthError extends Error {}

  async function api(path, { method = "GET", raw = false, body } = {}) {
    const headers = { Accept: raw ? "text/csv" : "application/json" };
    if (method !== "GET" && method !== "HEAD" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) throw new AuthError("The gateway refused the admin token.");
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        detail = body.error?.message || detail;
      } catch { /* not JSON */ }
      throw new Error(`${response.status} ${detail}`);
    }
    return raw ? response : response.json();
  }

  function rangeSeconds() {
    return Number($("range").value) || 86400;
  }

  function rangeLabel() {
    const range = $("range").selectedOptions[0]?.textContent.toLowerCase() || "last 24 hours";
    const callers = { verified: " · verified callers", claimed: " · claimed callers" }[$("callers").value] || "";
    return range + callers;
  }

  /** The query for the chosen range (the server's `to` defaults to now + 1 minute). */
  function rangeQuery() {
    // Every view can show only the callers that proved who they are, or only those that claimed it.
    const callers = $("callers").value;
    return `from=${Math.floor(Date.now() / 1000) - rangeSeconds()}${callers ? `&verification=${callers}` : ""}`;
  }

  function bucketMinutes() {
    return BUCKETS[rangeSeconds()] || 60;
  }

  const endpoints = {
    summary: () => `/admin/api/analytics/summary?${rangeQuery()}`,
    timeseries: () => `/admin/api/analytics/timeseries?by=${encodeURIComponent($("traffic-by").value)}&bucket_minutes=${bucketMinutes()}&${rangeQuery()}`,
    funnel: () => `/admin/api/analytics/funnel?${rangeQuery()}`,
    "top-agents": () => `/admin/api/analytics/top-agents?limit=10&${rangeQuery()}`,
    actions: () => `/admin/api/analytics/actions?${rangeQuery()}`,
    revenue: () => `/admin/api/analytics/revenue?by=${encodeURIComponent($("revenue-by").value)}&${rangeQuery()}`,
    "status-codes": () => `/admin/api/analytics/status-codes?${rangeQuery()}`,
  };

  // --- signing in and out -----------------------------------------------------------------------

  function showLogin(message) {
    state.generation += 1;
    stopTimers();
    closeLive();
    state.signedIn = false;
    state.csrf = null;
    $("main").hidden = true;
    $("controls").hidden = true;
    $("section-nav").hidden = true;
    $("login-panel").hidden = false;
    setMessage($("login-message"), message, message ? "bad" : "");
    const input = $("token-input");
    input.value = "";
    input.setAttribute("aria-invalid", message ? "true" : "false");
    input.focus();
  }

  function showDashboard() {
    $("login-panel").hidden = true;
    $("main").hidden = false;
    $("controls").hidden = false;
    $("section-nav").hidden = false;
    $("token-input").value = "";
  }

  /** Signs in with the admin token: the gateway sets the session cookie and answers the CSRF token. */
  async function signIn(token) {
    token = (token || "").trim();
    if (!token) {
      setMessage($("login-message"), "Enter the admin token.", "bad");
      $("token-input").setAttribute("aria-invalid", "true");
      return;
    }
    const button = $("sign-in");
    button.disabled = true;
    setMessage($("login-message"), "Checking the token…");
    let session;
    try {
      session = await api("/admin/api/session", { method: "POST", body: { token } });
    } catch (error) {
      button.disabled = false;
      if (error instanceof AuthError) {
        showLogin("That admin token was refused (401). Check the token the gateway printed on its first start and try again.");
      } else {
        // The gateway is unreachable or failing: say so and let them retry.
        $("login-panel").hidden = false;
        setMessage($("login-message"), `Could not reach the gateway (${error.message}). Try again in a moment.`, "bad");
      }
      return;
    }
    button.disabled = false;
    $("token-input").value = "";
    await enter(session, { focus: true });
  }

  /** Shows the dashboard for a signed-in session ({csrf_token, expires_at}). */
  async function enter(session, { focus = false } = {}) {
    state.csrf = session.csrf_token;
    state.signedIn = true;
    setMessage($("login-message"), "");
    state.generation += 1;
    showDashboard();
    if (focus) $("overview-title").focus();
    await refreshAll({ verifyTrail: true });
    connectLive();
    startTimers();
  }

  /** After a reload: the session cookie, if still valid, signs the page in again. */
  async function resume() {
    try {
      const session = await api("/admin/api/session");
      await enter(session);
    } catch (error) {
      showLogin("");
      if (!(error instanceof AuthError)) {
        setMessage($("login-message"), `Could not reach the gateway (${error.message}). Try again in a moment.`, "bad");
      }
    }
  }

  async function signOut() {
    try {
      await api("/admin/api/session", { method: "DELETE" });
    } catch { /* signed out here either way */ }
    showLogin("");
    setMessage($("login-message"), "Signed out. The session cookie was cleared.");
  }

  function authFailed() {
    showLogin("The dashboard session ended or the admin token changed (401). Sign in again.");
  }

  // --- loading everything -----------------------------------------------------------------------

  function startTimers() {
    stopTimers();
    if ($("auto-refresh").checked) {
      state.refreshTimer = setInterval(() => refreshAll({ verifyTrail: false }), REFRESH_MS);
    }
    state.clockTimer = setInterval(refreshRelativeTimes, 15_000);
  }

  function stopTimers() {
    clearInterval(state.refreshTimer);
    clearInterval(state.clockTimer);
    state.refreshTimer = state.clockTimer = null;
  }

  /** Runs section loaders; a 401 anywhere signs out, other failures are reported per section. */
  async function run(loaders) {
    const generation = state.generation;
    const results = await Promise.allSettled(loaders.map(([, load]) => load(generation)));
    if (generation !== state.generation) return false;
    // A counter of finished loads, so tests (and curious merchants) can tell a refresh happened.
    document.documentElement.dataset.loads = String(Number(document.documentElement.dataset.loads || 0) + 1);
    const failed = [];
    results.forEach((result, i) => {
      if (result.status === "rejected") {
        if (result.reason instanceof AuthError) failed.push(null);
        else failed.push(`${loaders[i][0]}: ${result.reason?.message || result.reason}`);
      }
    });
    if (failed.includes(null)) {
      authFailed();
      return false;
    }
    if (failed.length) setMessage($("global-message"), `Some panels could not load — ${failed.join("; ")}`, "bad");
    return failed.length === 0;
  }

  async function refreshAll({ verifyTrail = false } = {}) {
    const button = $("refresh");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    const ok = await run([
      ["overview", loadSummary],
      ["status codes", loadStatusCodes],
      ["traffic", loadTraffic],
      ["funnel", loadFunnel],
      ["gaps", loadGaps],
      ["top agents", loadTopAgents],
      ["revenue", loadRevenue],
      ["actions", loadActions],
      ["approvals", loadApprovals],
      ["audit trail", (g) => loadTrail(g, { verify: verifyTrail || state.trailCount === 0 })],
      ["journey audits", loadAudits],
      ["access policy", loadPolicy],
      ["policy outcomes", loadOutcomes],
    ]);
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (ok) {
      setMessage($("global-message"), "");
      $("updated").textContent = `Updated ${clockFormat.format(new Date())} · ${rangeLabel()}`;
    }
  }

  function current(generation) {
    return generation === state.generation;
  }

  // --- overview ---------------------------------------------------------------------------------

  async function loadSummary(generation) {
    const s = await api(endpoints.summary());
    if (!current(generation)) return;
    state.currency = s.revenue?.currency || state.currency;
    const set = (id, text, raw) => {
      const node = $(id);
      node.textContent = text;
      if (raw !== undefined) node.dataset.value = String(raw);
    };
    set("kpi-requests", count(s.requests), s.requests);
    set("kpi-agents", count(s.unique_agents), s.unique_agents);
    set("kpi-visitors", count(s.unique_visitors), s.unique_visitors);
    set("kpi-orders", count(s.orders), s.orders);
    set("kpi-revenue", money(s.net_revenue), s.net_revenue?.amount);
    $("kpi-revenue").title = `${money(s.revenue)} in orders, ${money(s.refunded)} refunded`;
    set("kpi-errors", percent(s.error_rate), s.error_rate);
    set("kpi-client-errors", percent(s.client_error_rate), s.client_error_rate);
    const l = s.latency || {};
    set("kpi-latency", l.p50_us == null ? "no requests" : `${latency(l.p50_us)} / ${latency(l.p95_us)} / ${latency(l.p99_us)}`);
    const queue = `${count(s.queue_depth)} waiting`;
    set("kpi-queue", s.dropped_events ? `${queue} · ${count(s.dropped_events)} dropped` : `${queue} · none dropped`, s.dropped_events);
    $("kpi-queue").classList.toggle("bad", Boolean(s.dropped_events));
    $("kpi-errors").classList.toggle("bad", s.error_rate > 0.01);
  }

  async function loadStatusCodes(generation) {
    const data = await api(endpoints["status-codes"]());
    if (!current(generation)) return;
    const tbody = $("status-table").tBodies[0];
    tbody.replaceChildren();
    const total = data.statuses.reduce((sum, row) => sum + row.requests, 0);
    for (const row of data.statuses) {
      const kind = row.status >= 500 ? "bad" : row.status >= 400 ? "warn" : "ok";
      tbody.append(el("tr", {},
        el("th", { scope: "row" }, el("span", { class: `status ${kind}`, text: String(row.status) })),
        numCell(count(row.requests), row.requests),
        numCell(percent(total ? row.requests / total : 0))));
    }
    if (!data.statuses.length) emptyRow(tbody, 3, "No requests in this range.");
  }

  // --- traffic over time ------------------------------------------------------------------------

  function chartAvailable(canvas) {
    if (window.Chart) return true;
    const box = canvas.parentElement;
    if (!box.querySelector(".chart-missing")) {
      box.append(el("p", { class: "chart-missing message bad", text: "Charts are unavailable: Chart.js did not load from /vendor/chart.js/. The tables still work." }));
    }
    return false;
  }

  function bucketLabel(ms, minutes) {
    const date = new Date(ms);
    if (minutes >= 1440) return new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" }).format(date);
    if (rangeSeconds() > 86400) return new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(date);
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(date);
  }

  async function loadTraffic(generation) {
    const minutes = bucketMinutes();
    const data = await api(endpoints.timeseries());
    if (!current(generation)) return;
    const bucketMs = minutes * 60_000;
    const from = Math.floor(Date.parse(data.range.from) / bucketMs) * bucketMs;
    const to = Date.parse(data.range.to);
    const starts = [];
    for (let t = from; t <= to; t += bucketMs) starts.push(t);
    const index = new Map(starts.map((t, i) => [t, i]));

    // Series by total, largest first; beyond nine keys the rest are folded into "Other".
    const totals = new Map();
    for (const p of data.points) totals.set(p.key, (totals.get(p.key) || 0) + p.requests);
    const keys = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
    const shown = keys.length > 10 ? keys.slice(0, 9) : keys;
    const seriesOf = (key) => (shown.includes(key) ? key : "Other");
    const series = new Map([...shown, ...(keys.length > shown.length ? ["Other"] : [])].map((k) => [k, new Array(starts.length).fill(0)]));
    for (const p of data.points) {
      const i = index.get(Date.parse(p.t));
      if (i !== undefined) series.get(seriesOf(p.key))[i] += p.requests;
    }
    const label = data.by === "stage" ? stageName : (k) => k.replace(/_/g, " ");
    const datasets = [...series.entries()].map(([key, values], i) => ({
      label: label(key),
      data: values,
      backgroundColor: PALETTE[i % PALETTE.length],
      borderColor: PALETTE[i % PALETTE.length],
      borderWidth: 0,
    }));
    const total = [...totals.values()].reduce((a, b) => a + b, 0);
    const byName = $("traffic-by").selectedOptions[0].textContent.toLowerCase();
    $("traffic-note").textContent = total
      ? `${count(total)} requests in ${count(starts.length)} buckets of ${minutes >= 60 ? `${minutes / 60} h` : `${minutes} min`}, by ${byName}.`
      : "No requests in this range yet.";
    const canvas = $("traffic-chart");
    canvas.setAttribute("aria-label", `Requests over time, stacked by ${byName}: ${[...totals.entries()].map(([k, v]) => `${label(k)} ${count(v)}`).join(", ") || "none"}`);
    if (!chartAvailable(canvas)) return;
    const labels = starts.map((t) => bucketLabel(t, minutes));
    const chart = state.charts.traffic;
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets = datasets;
      chart.update();
      return;
    }
    state.charts.traffic = new Chart(canvas, {
      type: "bar",
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion() ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Requests" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${count(ctx.parsed.y)}` } },
        },
      },
    });
  }

  function reducedMotion() {
    return window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  }

  // --- the buying-journey funnel ----------------------------------------------------------------

  async function loadFunnel(generation) {
    const data = await api(endpoints.funnel());
    if (!current(generation)) return;
    const stages = data.stages;
    const drop = data.largest_drop_before;
    const tbody = $("funnel-table").tBodies[0];
    tbody.replaceChildren();
    stages.forEach((s, i) => {
      const isDrop = s.stage === drop;
      const conversion = i === 0 ? "—" : s.conversion === null || s.conversion === undefined ? "n/a" : percent(s.conversion);
      const name = el("th", { scope: "row" }, s.title || stageName(s.stage));
      if (isDrop) name.append(" ", el("span", { class: "tag bad", text: "largest drop" }));
      tbody.append(el("tr", { class: isDrop ? "drop" : "", dataset: { stage: s.stage } },
        name, numCell(count(s.agents), s.agents), numCell(conversion, i === 0 ? null : s.conversion)));
    });
    const callout = $("funnel-drop");
    const at = stages.findIndex((s) => s.stage === drop);
    if (drop && at > 0) {
      const before = stages[at - 1];
      const after = stages[at];
      const lost = before.agents - after.agents;
      callout.textContent = `Largest drop: before ${after.title}. ${count(before.agents)} agents reached ${before.title}, ` +
        `${count(after.agents)} went on to ${after.title} (${count(lost)} lost, ${percent(before.agents ? lost / before.agents : 0)}).`;
      callout.hidden = false;
    } else {
      callout.textContent = stages.some((s) => s.agents) ? "No stage loses agents in this range." : "No agents in this range yet.";
      callout.hidden = false;
    }
    const canvas = $("funnel-chart");
    canvas.setAttribute("aria-label", `Distinct agents per stage: ${stages.map((s) => `${s.title} ${count(s.agents)}`).join(", ")}`);
    if (!chartAvailable(canvas)) return;
    const labels = stages.map((s) => s.title || stageName(s.stage));
    const values = stages.map((s) => s.agents);
    const colors = stages.map((s) => (s.stage === drop ? "#c2410c" : "#2f6b4f"));
    const chart = state.charts.funnel;
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = values;
      chart.data.datasets[0].backgroundColor = colors;
      chart.update();
      return;
    }
    state.charts.funnel = new Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ label: "Distinct agents", data: values, backgroundColor: colors, borderRadius: 4 }] },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion() ? false : { duration: 300 },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Distinct agents" } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const s = stages[ctx.dataIndex];
                const conv = ctx.dataIndex > 0 && s.conversion != null ? ` (${percent(s.conversion)} of the stage before)` : "";
                return `${count(ctx.parsed.x)} agents${conv}`;
              },
            },
          },
        },
      },
    });
  }

  // --- top agents and revenue -------------------------------------------------------------------

  async function loadAgentNames() {
    try {
      const data = await api("/admin/api/agents");
      state.agentNames = new Map(data.agents.map((a) => [a.id, a.display_name || a.id]));
    } catch (error) {
      if (error instanceof AuthError) throw error;
      // names are a nicety; ids still show
    }
  }

  /** A registered agent by name, with its id under it (or, `compact`, in the tooltip). */
  function agentCell(agentID, fallback, { compact = false } = {}) {
    if (!agentID) return el("span", { text: fallback || "—" });
    const name = state.agentNames.get(agentID);
    if (compact) return el("span", { title: agentID, text: name || agentID });
    return el("span", { class: "who" }, el("span", { text: name || agentID }), name ? el("code", { class: "id", text: agentID }) : null);
  }

  async function loadTopAgents(generation) {
    const [data] = await Promise.all([api(endpoints["top-agents"]()), loadAgentNames()]);
    if (!current(generation)) return;
    const tbody = $("agents-table").tBodies[0];
    tbody.replaceChildren();
    for (const a of data.agents) {
      let who;
      if (a.agent_id) {
        who = agentCell(a.agent_id);
      } else {
        const [family, address] = a.visitor.split("@");
        who = el("span", { class: "who" }, el("span", { text: family || a.family }), address ? el("span", { class: "id", text: `from ${address}` }) : null);
      }
      tbody.append(el("tr", { dataset: { visitor: a.visitor, agentId: a.agent_id || "" } },
        el("th", { scope: "row" }, who),
        el("td", { text: a.family }),
        el("td", { text: a.principal || "—" }),
        numCell(count(a.requests), a.requests),
        numCell(money(a.spend), a.spend?.amount)));
    }
    if (!data.agents.length) emptyRow(tbody, 5, "No agents in this range yet.");
  }

  async function loadRevenue(generation) {
    const by = $("revenue-by").value;
    const [data] = await Promise.all([api(endpoints.revenue()), state.agentNames.size ? null : loadAgentNames()]);
    if (!current(generation)) return;
    $("revenue-key").textContent = { referral: "Referral code", family: "Bought by" }[by] || "Agent";
    const tbody = $("revenue-table").tBodies[0];
    tbody.replaceChildren();
    for (const row of data.rows) {
      const key = by === "agent" ? agentCell(row.key, "(unknown)") : el("span", { text: row.key });
      tbody.append(el("tr", {},
        el("th", { scope: "row" }, key),
        numCell(count(row.orders), row.orders),
        numCell(money(row.revenue), row.revenue?.amount),
        numCell(money(row.refunded), row.refunded?.amount),
        numCell(money(row.net_revenue), row.net_revenue?.amount)));
    }
    if (!data.rows.length) emptyRow(tbody, 5, "No orders in this range.");
  }

  // --- actions ----------------------------------------------------------------------------------

  async function loadActions(generation) {
    const data = await api(endpoints.actions());
    if (!current(generation)) return;
    const tbody = $("actions-table").tBodies[0];
    tbody.replaceChildren();
    for (const a of data.actions) {
      const isAction = a.route.startsWith("action:");
      const name = el("th", { scope: "row" },
        el("code", { text: isAction ? a.route.slice(7) : a.route }), " ",
        el("span", { class: "tag", text: isAction ? "action" : "route" }));
      const errors = numCell(percent(a.error_rate), a.error_rate);
      if (a.error_rate > 0.05) errors.classList.add("bad");
      tbody.append(el("tr", { dataset: { route: a.route } },
        name, el("td", { text: stageName(a.stage) }), numCell(count(a.calls), a.calls), errors,
        numCell(latency(a.p50_us), a.p50_us), numCell(latency(a.p95_us), a.p95_us), numCell(latency(a.p99_us), a.p99_us)));
    }
    if (!data.actions.length) emptyRow(tbody, 7, "No agent calls in this range yet.");
  }

  // --- approvals --------------------------------------------------------------------------------

  async function loadApprovals(generation) {
    const data = await api("/admin/api/approvals?status=pending");
    if (!current(generation)) return;
    if (!state.agentNames.size) await loadAgentNames();
    const tbody = $("approvals-table").tBodies[0];
    tbody.replaceChildren();
    for (const a of data.approvals) {
      const who = state.agentNames.get(a.agent_id) || a.agent_id;
      const amount = money(a.amount);
      const approve = el("button", { type: "button", class: "approve", dataset: { id: a.id, decision: "approve" },
        "aria-label": `Approve the ${amount} purchase by ${who}` }, "Approve");
      const deny = el("button", { type: "button", class: "deny secondary", dataset: { id: a.id, decision: "deny" },
        "aria-label": `Deny the ${amount} purchase by ${who}` }, "Deny");
      // What is being bought, line by line: a decision on a total alone is no decision.
      const items = el("ul", { class: "items" });
      for (const line of a.line_items || []) {
        items.append(el("li", { text: `${count(line.quantity)} × ${line.name || line.product_id} (${money(line.total)})` }));
      }
      if (!items.children.length) items.append(el("li", { text: "—" }));
      tbody.append(el("tr", { dataset: { approvalId: a.id, checkoutId: a.checkout_id } },
        el("th", { scope: "row" }, agentCell(a.agent_id)),
        el("td", { text: a.principal || "—" }),
        el("td", {}, items),
        numCell(amount, a.amount?.amount),
        el("td", {}, timeEl(a.created_at)),
        el("td", {}, timeEl(a.expires_at)),
        el("td", { class: "decide" }, approve, deny)));
    }
    if (!data.approvals.length) emptyRow(tbody, 7, "Nothing is waiting for approval.");
    const badge = $("approvals-badge");
    badge.textContent = data.approvals.length ? count(data.approvals.length) : "";
    badge.hidden = !data.approvals.length;
    badge.setAttribute("aria-label", `${data.approvals.length} pending`);
  }

  async function decide(button) {
    const id = button.dataset.id;
    const decision = button.dataset.decision;
    if (button.dataset.armed !== "yes") {
      // Approving spends the principal's money and denying releases the hold for good: either
      // way, ask once more, in place.
      const label = decision === "approve" ? "Approve" : "Deny";
      button.dataset.armed = "yes";
      button.textContent = `Confirm ${decision}`;
      button.setAttribute("aria-label", `Confirm: ${button.getAttribute("aria-label")}`);
      setTimeout(() => {
        if (button.isConnected) {
          button.dataset.armed = "";
          button.textContent = label;
          button.setAttribute("aria-label", button.getAttribute("aria-label").replace(/^Confirm: /, ""));
        }
      }, 5000);
      return;
    }
    const row = button.closest("tr");
    for (const b of row.querySelectorAll("button")) b.disabled = true;
    const message = $("approvals-message");
    setMessage(message, decision === "approve" ? "Approving…" : "Denying…");
    try {
      const result = await api(`/admin/api/approvals/${encodeURIComponent(id)}/${decision}`, { method: "POST" });
      setMessage(message, result.status === "approved"
        ? `Approved: checkout ${result.checkout?.id || ""} is ${(result.checkout?.status || "completed").replace(/_/g, " ")}${result.order ? `, order ${result.order.id} placed` : ""}.`
        : `Denied: the hold on checkout ${result.checkout?.id || ""} was released.`, "ok");
    } catch (error) {
      if (error instanceof AuthError) return authFailed();
      setMessage(message, `Could not ${decision} ${id}: ${error.message}`, "bad");
    }
    await run([
      ["approvals", loadApprovals],
      ["overview", loadSummary],
      ["top agents", loadTopAgents],
      ["revenue", loadRevenue],
      ["audit trail", (g) => loadTrail(g, { verify: true })],
    ]);
  }

  // --- what each gap costs ----------------------------------------------------------------------

  async function loadGaps(generation) {
    const data = await api(`/admin/api/analytics/gaps?${rangeQuery()}`);
    if (!current(generation)) return;
    const items = [];
    for (const stage of data.stages) {
      if (!stage.summary) continue;
      const operators = stage.operators.map((o) => `${o.operator || "unidentified"} ${count(o.agents)}`).join(", ");
      items.push(el("li", { dataset: { stage: stage.stage } },
        el("span", { class: "gap-summary", text: stage.summary }),
        operators ? el("span", { class: "muted", text: ` Operators: ${operators}.` }) : null));
    }
    if (!items.length) items.push(el("li", { class: "muted", text: "No agent's journey ended short of the last stage in this range." }));
    $("gaps-list").replaceChildren(...items);
  }

  // --- the access policy ------------------------------------------------------------------------

  const POLICY_STAGES = ["*", "finding", "evaluating", "trust_checking", "transacting", "using", "recommending"];
  const POLICY_ACCESS = [["allow", "Allow"], ["block", "Block"], ["require_verification", "Require verification"], ["charge", "Charge"]];

  function minorDigits(currency) {
    try {
      return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
    } catch {
      return 2;
    }
  }

  function policyRow(rule = { agent: "", stage: "*", access: "block" }) {
    const index = $("policy-table").tBodies[0].rows.length + 1;
    const agent = el("input", { type: "text", class: "policy-agent", required: "", list: "policy-agents", value: rule.agent,
      "aria-label": `Rule ${index}: agent, operator or category` });
    const stage = el("select", { class: "policy-stage", "aria-label": `Rule ${index}: stage` },
      ...POLICY_STAGES.map((s) => el("option", { value: s, text: s === "*" ? "Every stage" : stageName(s) })));
    stage.value = rule.stage || "*";
    const access = el("select", { class: "policy-access", "aria-label": `Rule ${index}: access` },
      ...POLICY_ACCESS.map(([value, text]) => el("option", { value, text })));
    access.value = rule.access;
    const remove = el("button", { type: "button", class: "secondary policy-remove", "aria-label": `Remove rule ${index}` }, "Remove");
    return el("tr", {}, el("td", {}, agent), el("td", {}, stage), el("td", {}, access), el("td", {}, remove));
  }

  async function loadPolicy(generation) {
    const policy = await api("/admin/api/access-policy");
    if (!current(generation)) return;
    // A rule being edited is not thrown away by a refresh.
    if ($("policy-form").dataset.dirty === "yes") return;
    const tbody = $("policy-table").tBodies[0];
    tbody.replaceChildren();
    for (const rule of policy.rules) tbody.append(policyRow(rule));
    const list = $("policy-agents");
    if (!list.children.length) {
      for (const name of [...(policy.choices?.categories || []), ...(policy.choices?.operators || []), ...(policy.choices?.agents || [])]) {
        list.append(el("option", { value: name }));
      }
    }
    if (policy.price) {
      const digits = minorDigits(policy.price.currency);
      $("policy-price").value = (policy.price.amount / 10 ** digits).toFixed(digits);
      $("policy-currency").value = policy.price.currency;
    }
  }

  async function savePolicy(event) {
    event.preventDefault();
    const message = $("policy-message");
    const rules = [...$("policy-table").tBodies[0].rows].map((row) => ({
      agent: row.querySelector(".policy-agent").value.trim(),
      stage: row.querySelector(".policy-stage").value,
      access: row.querySelector(".policy-access").value,
    }));
    const body = { rules };
    const priceText = $("policy-price").value.trim();
    const currency = $("policy-currency").value.trim().toUpperCase();
    if (priceText) {
      const digits = minorDigits(currency);
      body.price = { amount: Math.round(Number(priceText) * 10 ** digits), currency };
    }
    $("policy-save").disabled = true;
    setMessage(message, "Saving…");
    try {
      const saved = await api("/admin/api/access-policy", { method: "PUT", body });
      $("policy-form").dataset.dirty = "";
      setMessage(message, `Saved: ${saved.rules.length} rule${saved.rules.length === 1 ? "" : "s"} in force; robots.txt, /agents and llms.txt say the same.`, "ok");
      await run([["access policy", loadPolicy]]);
    } catch (error) {
      if (error instanceof AuthError) return authFailed();
      setMessage(message, `Not saved — ${error.message}`, "bad");
    } finally {
      $("policy-save").disabled = false;
    }
  }

  async function loadOutcomes(generation) {
    const data = await api("/admin/api/policy-outcomes?days=7");
    if (!current(generation)) return;
    $("outcomes-summary").replaceChildren(...data.summary.map((line) => el("li", { text: line })));
    const tbody = $("outcomes-table").tBodies[0];
    tbody.replaceChildren();
    const outcomeNames = { disallowed: "Fetched a disallowed path", verification_required: "Refused: not verified",
      payment_required: "Refused: no payment", charged: "Charged" };
    for (const o of data.outcomes) {
      tbody.append(el("tr", { dataset: { agent: o.agent, outcome: o.outcome, verification: o.verification } },
        el("th", { scope: "row", text: o.agent }),
        el("td", { text: o.operator || "—" }),
        el("td", { text: o.verification }),
        el("td", { text: outcomeNames[o.outcome] || o.outcome }),
        numCell(count(o.requests), o.requests),
        numCell(o.earned ? money(o.earned) : "—", o.earned?.amount)));
    }
    if (!data.outcomes.length) emptyRow(tbody, 6, "The policy has refused or charged nothing in the last 7 days.");
  }

  // --- the audit trail --------------------------------------------------------------------------

  async function loadTrail(generation, { verify = false } = {}) {
    if (verify) {
      const v = await api("/admin/api/trail/verify");
      if (!current(generation)) return;
      state.trailCount = v.entries;
      const status = $("trail-status");
      status.replaceChildren();
      if (v.intact) {
        status.className = "trail-status ok";
        status.append(el("strong", { text: "Intact ✓" }),
          ` — ${count(v.entries)} ${v.entries === 1 ? "entry" : "entries"} verified, ${count(v.checkpoints)} signed ${v.checkpoints === 1 ? "checkpoint" : "checkpoints"}. `,
          el("span", { class: "muted", text: `Checked ${clockFormat.format(new Date())}.` }));
      } else {
        status.className = "trail-status bad";
        const where = v.first_bad_seq != null ? `Broken at seq ${count(v.first_bad_seq)}` : "Broken";
        status.append(el("strong", { text: `${where} ✗` }),
          ` — ${(v.problem || "problem").replace(/_/g, " ")}${v.detail ? `: ${v.detail}` : ""}.`);
      }
    }
    // Page forward from just before the last entries we know of (the API lists oldest first).
    let after = Math.max(0, (state.trailLastSeq || state.trailCount) - TRAIL_ROWS);
    let entries = [];
    for (let page = 0; page < 50; page += 1) {
      const data = await api(`/admin/api/trail?after=${after}&limit=200`);
      entries = entries.concat(data.entries).slice(-TRAIL_ROWS);
      if (data.entries.length < 200 || data.next_after == null) break;
      after = data.next_after;
    }
    if (!current(generation)) return;
    if (entries.length) state.trailLastSeq = entries[entries.length - 1].seq;
    const tbody = $("trail-table").tBodies[0];
    tbody.replaceChildren();
    for (const e of entries.reverse()) {
      const outcome = el("span", { class: `tag ${e.outcome === "ok" ? "ok" : e.error_code ? "bad" : "warn"}`, text: e.error_code ? `${e.outcome}: ${e.error_code}` : e.outcome });
      tbody.append(el("tr", { dataset: { seq: String(e.seq) } },
        numCell(count(e.seq), e.seq),
        el("td", {}, timeEl(e.at)),
        el("th", { scope: "row" }, el("code", { text: e.action }), e.target ? el("span", { class: "id", text: e.target }) : null),
        el("td", {}, agentCell(e.agent_id, "—", { compact: true })),
        el("td", { text: e.principal || "—" }),
        el("td", {}, outcome),
        numCell(e.amount == null ? "—" : money(e.amount, e.currency), e.amount),
        el("td", {}, el("code", { class: "hash", title: e.hash, text: `${e.hash.slice(0, 10)}…` }))));
    }
    if (!entries.length) emptyRow(tbody, 8, "The trail is empty.");
  }

  // --- journey audits ---------------------------------------------------------------------------

  async function loadAudits(generation) {
    const data = await api("/admin/api/audits");
    if (!current(generation)) return;
    const tbody = $("journey-table").tBodies[0];
    tbody.replaceChildren();
    data.audits.forEach((a, i) => {
      const scored = (a.stages || []).filter((s) => s.score != null);
      const weakest = scored.sort((x, y) => x.score - y.score)[0];
      // Compared with the previous audit of the same target (the list is newest first).
      const previous = data.audits.slice(i + 1).find((b) => b.target === a.target);
      const change = previous ? a.score - previous.score : null;
      tbody.append(el("tr", { dataset: { score: String(a.score) } },
        el("td", {}, timeEl(a.audited_at)),
        el("th", { scope: "row" }, a.target,
          // What decides the audit, when something does: a block, an unreachable site, the stage agents stop at.
          a.headline ? el("div", { class: `muted small headline${a.reachability && a.reachability !== "reachable" ? " bad" : ""}`, text: a.headline }) : null),
        numCell(count(Math.round(a.score)), a.score),
        numCell(change == null ? "—" : `${change >= 0 ? "+" : ""}${change.toFixed(1)}`, change ?? 0),
        el("td", {}, el("span", { class: `tag ${a.score >= 85 ? "ok" : a.score >= 40 ? "warn" : "bad"}`, text: a.level })),
        el("td", { text: weakest ? `${weakest.stage.replace(/_/g, "-")} (${Math.round(weakest.score)})` : "—" }),
        el("td", { class: "fixes" }, fixList(a.failing || []))));
    });
    if (!data.audits.length) emptyRow(tbody, 7, "No audit yet: run one.");
  }

  // What to change, the costliest gap first (the API sorts them): the first few fixes, the rest
  // folded away, each with the points it would win back and the check it answers.
  const FIXES_SHOWN = 3;

  function fixItem(f) {
    return el("li", { dataset: { finding: f.id } },
      el("span", { class: "fix", text: f.fix || f.title }), " ",
      el("span", { class: "muted small", text: `+${Number(f.points_lost || 0).toFixed(1)} pts · ${f.title}` }));
  }

  function fixList(failing) {
    if (!failing.length) return "nothing";
    const shown = el("ol", { class: "fix-list" }, ...failing.slice(0, FIXES_SHOWN).map(fixItem));
    if (failing.length <= FIXES_SHOWN) return shown;
    const rest = failing.slice(FIXES_SHOWN);
    return el("div", {}, shown,
      el("details", {},
        el("summary", { text: `${count(rest.length)} more` }),
        el("ol", { class: "fix-list", start: String(FIXES_SHOWN + 1) }, ...rest.map(fixItem))));
  }

  async function runAudit() {
    const button = $("journey-run");
    button.disabled = true;
    $("journey-status").textContent = "Auditing this store as an agent would…";
    try {
      const result = await api("/admin/api/audits", { method: "POST" });
      $("journey-status").textContent = `Scored ${Math.round(result.report.score)}/100 (${result.report.level}).`;
      await run([["journey audits", loadAudits]]);
    } catch (error) {
      $("journey-status").textContent = `The audit failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  // --- the live feed (Server-Sent Events) -------------------------------------------------------

  function setLiveState(text, kind) {
    const pill = $("live-state");
    pill.textContent = text;
    pill.className = `pill ${kind || ""}`;
  }

  function closeLive() {
    clearTimeout(state.liveRetry);
    state.liveRetry = null;
    if (state.live) {
      state.live.close();
      state.live = null;
    }
    setLiveState("Not connected", "");
  }

  function connectLive() {
    closeLive();
    if (!state.signedIn || typeof EventSource === "undefined") return;
    // Same origin: the browser sends the session cookie; no token in the URL.
    const source = new EventSource("/admin/api/analytics/live");
    state.live = source;
    setLiveState("Connecting…", "warn");
    source.addEventListener("open", () => {
      state.liveDelay = 2000;
      setLiveState("Live", "ok");
    });
    source.addEventListener("request", (event) => {
      let item;
      try {
        item = JSON.parse(event.data);
      } catch {
        return;
      }
      // A new stream starts with the recent past: skip what is already on screen.
      const id = Number(event.lastEventId);
      if (id && id <= state.liveLastId) return;
      if (id) state.liveLastId = id;
      item.id = id;
      if (state.livePaused) {
        state.liveBuffer.push(item);
        if (state.liveBuffer.length > LIVE_CAP) state.liveBuffer.shift();
        $("live-pause").textContent = `Resume (${count(state.liveBuffer.length)} new)`;
      } else {
        addLive(item);
      }
    });
    source.addEventListener("error", () => {
      if (source !== state.live) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. the session ended) or the gateway went away: try again later.
        setLiveState("Disconnected — retrying", "bad");
        state.live = null;
        state.liveRetry = setTimeout(connectLive, state.liveDelay);
        state.liveDelay = Math.min(state.liveDelay * 2, 60_000);
      } else {
        setLiveState("Reconnecting…", "warn");
      }
    });
  }

  function addLive(e) {
    const list = $("live-feed");
    const kind = e.status >= 500 ? "bad" : e.status >= 400 ? "warn" : "ok";
    const route = e.route.startsWith("action:") ? e.route.slice(7) : e.route;
    const who = e.agent_id ? (state.agentNames.get(e.agent_id) || e.agent_id) : e.family;
    const item = el("li", { dataset: { event: String(e.id || ""), family: e.family, route: e.route, status: String(e.status) } },
      el("span", { class: "live-when" }, timeEl(e.at)),
      el("span", { class: "live-who", text: who }),
      el("span", { class: "live-what" }, el("code", { text: route }), " ", el("span", { class: "tag", text: stageName(e.stage) })),
      el("span", { class: "live-result" },
        el("span", { class: `status ${kind}`, text: String(e.status) }), " ",
        el("span", { class: "muted", text: latency(e.latency_us) }),
        e.requests > 1 ? el("span", { class: "muted", text: ` ×${e.requests}` }) : null,
        e.amount != null ? el("span", { class: "amount", text: ` ${money(e.amount)}` }) : null));
    list.prepend(item);
    while (list.children.length > LIVE_CAP) list.lastElementChild.remove();
    $("live-empty").hidden = true;
  }

  function togglePause() {
    const button = $("live-pause");
    state.livePaused = !state.livePaused;
    button.setAttribute("aria-pressed", String(state.livePaused));
    if (!state.livePaused) {
      for (const item of state.liveBuffer) addLive(item);
      state.liveBuffer = [];
      button.textContent = "Pause";
    } else {
      button.textContent = "Resume";
    }
  }

  // --- CSV export -------------------------------------------------------------------------------

  async function exportCSV(button) {
    const name = button.dataset.export;
    const url = endpoints[name]?.();
    if (!url) return;
    button.disabled = true;
    try {
      const response = await api(`${url}&format=csv`, { raw: true });
      const blob = await response.blob();
      const href = URL.createObjectURL(blob);
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      const link = el("a", { href, download: `storefront-${name}-${stamp}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
      setMessage($("global-message"), `Exported ${name.replace("-", " ")} as CSV.`, "ok");
    } catch (error) {
      if (error instanceof AuthError) return authFailed();
      setMessage($("global-message"), `Export failed: ${error.message}`, "bad");
    } finally {
      button.disabled = false;
    }
  }

  // --- wiring -----------------------------------------------------------------------------------

  function wire() {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn($("token-input").value);
    });
    $("controls").addEventListener("submit", (event) => event.preventDefault());
    $("refresh").addEventListener("click", () => refreshAll({ verifyTrail: true }));
    $("sign-out").addEventListener("click", signOut);
    $("range").addEventListener("change", () => refreshAll());
    $("callers").addEventListener("change", () => refreshAll());
    $("auto-refresh").addEventListener("change", startTimers);
    $("traffic-by").addEventListener("change", () => run([["traffic", loadTraffic]]));
    $("revenue-by").addEventListener("change", () => run([["revenue", loadRevenue]]));
    $("trail-verify").addEventListener("click", () => run([["audit trail", (g) => loadTrail(g, { verify: true })]]));
    $("live-pause").addEventListener("click", togglePause);
    $("journey-run").addEventListener("click", runAudit);
    $("policy-form").addEventListener("submit", savePolicy);
    $("policy-form").addEventListener("input", () => { $("policy-form").dataset.dirty = "yes"; });
    $("policy-add").addEventListener("click", () => {
      $("policy-form").dataset.dirty = "yes";
      const row = policyRow();
      $("policy-table").tBodies[0].append(row);
      row.querySelector("input").focus();
    });
    $("policy-table").addEventListener("click", (event) => {
      const button = event.target.closest("button.policy-remove");
      if (!button) return;
      $("policy-form").dataset.dirty = "yes";
      button.closest("tr").remove();
    });
    $("approvals-table").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-decision]");
      if (button && !button.disabled) decide(button);
    });
    for (const button of document.querySelectorAll("button[data-export]")) {
      button.addEventListener("click", () => exportCSV(button));
    }
    // The browser's back/forward cache may bring the page back without its stream.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted && state.signedIn) connectLive();
    });
  }

  function start() {
    wire();
    resume();
  }

  // Exposed for tests and the console: formatting helpers, no secrets.
  window.storefrontDashboard = { money, latency, relative, count };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
