// The merchant overview: reads the gateway's own public documents, so it shows what agents see.
"use strict";

const numberFormat = new Intl.NumberFormat();

function text(tag, value, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = value;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function duration(seconds) {
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [name, size] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

async function load() {
  const [agents, status] = await Promise.all([
    fetch("/agents", { headers: { Accept: "application/json" } }).then((r) => r.json()),
    fetch("/status").then((r) => r.json()),
  ]);
  document.getElementById("store-name").textContent = `${agents.store.name} — merchant overview`;
  document.getElementById("store-description").textContent = agents.store.description;

  const kpis = document.getElementById("kpis");
  const facts = [
    ["Status", status.status],
    ["Up for", duration(status.uptime_seconds)],
    ["Products", numberFormat.format(status.counts.products)],
    ["In stock", numberFormat.format(status.counts.products_in_stock)],
    ["Categories", numberFormat.format(status.counts.categories)],
    ["Subscription plans", numberFormat.format(status.counts.plans)],
  ];
  for (const [label, value] of facts) {
    const box = document.createElement("div");
    box.append(text("dt", label), text("dd", value));
    kpis.append(box);
  }

  const rows = document.getElementById("endpoints");
  for (const endpoint of agents.endpoints) {
    const tr = document.createElement("tr");
    const route = document.createElement("td");
    const link = endpoint.url ? text("a", `${endpoint.method} ${endpoint.path}`, { href: endpoint.path }) : text("code", `${endpoint.method} ${endpoint.path}`);
    route.append(link);
    tr.append(route, text("td", endpoint.stage.replace("_", "-")), text("td", endpoint.summary));
    rows.append(tr);
  }
}

load().catch((error) => {
  document.getElementById("kpis").append(text("p", `Could not reach the gateway: ${error.message}`, { role: "alert" }));
});
