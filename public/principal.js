// The principal's page: sign in by one-time link, grant an agent's OAuth request and set its
// limits, see every agent acting for you (wallet, orders, pending approvals), approve, revoke.
// Everything goes through /principal/api/*; changes carry the session's CSRF token.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  let csrf = "";
  let digits = 2;

  const $ = (id) => document.getElementById(id);
  const show = (id, visible) => { $(id).hidden = !visible; };
  const status = (text) => { $("status").textContent = text || ""; };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (data.error && data.error.message) || data.error_description || ("HTTP " + response.status);
      throw new Error(message);
    }
    return data;
  }

  function money(value) {
    if (!value || typeof value.amount !== "number") return "—";
    const major = value.amount / Math.pow(10, digits);
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currency }).format(major);
    } catch (_) {
      return major.toFixed(digits) + " " + value.currency;
    }
  }

  function minor(input) {
    const text = input.value.trim();
    if (text === "") return null;
    const number = Number(text);
    if (!Number.isFinite(number) || number < 0) throw new Error("Limits are amounts of money, 0 or more.");
    return Math.round(number * Math.pow(10, digits));
  }

  function limitsFrom(form) {
    const limits = {};
    for (const input of form.querySelectorAll("input[data-limit]")) {
      const value = minor(input);
      if (value !== null) limits[input.dataset.limit] = value;
      else if (input.dataset.clear === "yes") limits[input.dataset.limit] = null;
    }
    return limits;
  }

  // ---- Passkeys (WebAuthn): bytes travel as base64url

  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function signInWithPasskey() {
    const options = await api("POST", "/principal/api/passkeys/options", { purpose: "sign-in" });
    const credential = await navigator.credentials.get({
      publicKey: { challenge: fromB64url(options.challenge), rpId: options.rpId, timeout: options.timeout,
        userVerification: options.userVerification, allowCredentials: [] },
    });
    const r = credential.response;
    const data = await api("POST", "/principal/api/passkeys/sign-in", {
      id: credential.id,
      response: { clientDataJSON: toB64url(r.clientDataJSON), authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature), userHandle: r.userHandle ? toB64url(r.userHandle) : "" },
    });
    csrf = data.csrf_token;
    return data.principal;
  }

  async function enrolPasskey() {
    const o = await api("POST", "/principal/api/passkeys/options", { purpose: "register" });
    const credential = await navigator.credentials.create({
      publicKey: {
        challenge: fromB64url(o.challenge), rp: o.rp,
        user: { id: fromB64url(o.user.id), name: o.user.name, displayName: o.user.displayName },
        pubKeyCredParams: o.pubKeyCredParams, timeout: o.timeout, attestation: o.attestation,
        authenticatorSelection: o.authenticatorSelection,
        excludeCredentials: o.excludeCredentials.map((c) => ({ type: c.type, id: fromB64url(c.id) })),
      },
    });
    await api("POST", "/principal/api/passkeys", {
      id: credential.id,
      response: { clientDataJSON: toB64url(credential.response.clientDataJSON),
        attestationObject: toB64url(credential.response.attestationObject) },
    });
  }

  async function showPasskeys() {
    const data = await api("GET", "/principal/api/passkeys");
    const list = $("passkeys");
    list.replaceChildren(...data.passkeys.map((p) =>
      el("li", { class: "passkey", "data-passkey-id": p.id }, "Passkey added " + p.created_at +
        (p.last_used_at ? ", last used " + p.last_used_at : ", not used yet"))));
    show("passkeys-panel", true);
  }

  // ---- Signing in

  async function signInWithLink(link) {
    const data = await api("POST", "/principal/api/session", { link });
    csrf = data.csrf_token;
    // The link is spent: keep it out of the address bar and the history.
    params.delete("link");
    const rest = params.toString();
    window.history.replaceState(null, "", "/principal/" + (rest ? "?" + rest : ""));
    return data.principal;
  }

  function showSignIn() {
    show("sign-in", true);
    $("passkey-sign-in").hidden = !window.PublicKeyCredential;
    $("passkey-sign-in").addEventListener("click", async () => {
      status("");
      try {
        await signInWithPasskey();
        show("sign-in", false);
        await start();
      } catch (error) {
        status(error.message);
      }
    });
    $("sign-in-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      status("");
      try {
        const body = { email: $("email").value };
        if (params.get("authorize")) body.authorize = params.get("authorize");
        const data = await api("POST", "/principal/api/sign-in", body);
        $("sent").textContent = "A sign-in link was sent to " + data.email + ". Open it to continue; it is valid until " + data.expires_at + ".";
        show("sent", true);
      } catch (error) {
        status(error.message);
      }
    });
  }

  // ---- Consent

  async function showConsent(request) {
    const pending = await api("GET", "/principal/api/authorization?request=" + encodeURIComponent(request));
    digits = pending.minor_unit_digits;
    $("client-name").textContent = pending.client.name;
    $("client-id").textContent = pending.client.id;
    $("redirect-host").textContent = pending.client.redirect_host;
    $("consent-expires").textContent = pending.expires_at;
    for (const node of document.querySelectorAll(".currency")) node.textContent = pending.currency;
    const scopes = $("scopes");
    scopes.replaceChildren();
    for (const item of pending.scopes) {
      const id = "scope-" + item.scope.replace(/[^a-z0-9]/gi, "-");
      scopes.append(el("div", { class: "check" },
        el("input", { type: "checkbox", id, name: "scope", value: item.scope, checked: true }),
        el("label", { htmlFor: id }, el("code", {}, item.scope), " — ", item.description)));
    }
    show("consent", true);
    $("consent-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      status("");
      try {
        const granted = [...document.querySelectorAll("input[name=scope]:checked")].map((box) => box.value);
        const answer = await api("POST", "/principal/api/authorization",
          { request, decision: "allow", scopes: granted, limits: limitsFrom($("consent-form")) });
        status("Granted. Returning to the agent…");
        window.location.assign(answer.redirect_to);
      } catch (error) {
        status(error.message);
      }
    });
    $("deny").addEventListener("click", async () => {
      try {
        const answer = await api("POST", "/principal/api/authorization", { request, decision: "deny" });
        status("Denied. Returning to the agent…");
        window.location.assign(answer.redirect_to);
      } catch (error) {
        status(error.message);
      }
    });
  }

  // ---- Agents

  function limitsForm(agent) {
    const form = el("form", { class: "limits-form", "data-agent-id": agent.id });
    const wallet = agent.wallet || {};
    const windows = wallet.windows || {};
    const current = (key) => {
      const value = key === "approval_threshold" ? wallet.approval_threshold : (windows[key] || {}).limit;
      return value && typeof value.amount === "number" ? String(value.amount / Math.pow(10, digits)) : "";
    };
    for (const [key, label] of [["per_transaction", "Per purchase"], ["daily", "Per day"], ["monthly", "Per month"],
      ["approval_threshold", "Approve above"]]) {
      const id = "limit-" + agent.id + "-" + key;
      form.append(el("label", { htmlFor: id }, label),
        el("input", { type: "number", min: "0", step: "any", id, value: current(key), "data-limit": key, "data-clear": "yes" }));
    }
    form.append(el("button", { type: "submit", class: "save-limits" }, "Save limits"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", "/principal/api/agents/" + encodeURIComponent(agent.id) + "/limits", limitsFrom(form));
        status("Limits saved for " + agent.display_name + ".");
        await showAgents();
      } catch (error) {
        status(error.message);
      }
    });
    return form;
  }

  function approvalItem(approval) {
    const item = el("li", { class: "approval", "data-approval-id": approval.id },
      money(approval.amount), " — ",
      (approval.line_items || []).map((line) => line.quantity + " × " + line.name).join(", "),
      " (until " + approval.expires_at + ") ");
    for (const [decision, label] of [["approve", "Approve"], ["deny", "Decline"]]) {
      const button = el("button", { type: "button", class: decision, "data-approval-id": approval.id }, label);
      button.addEventListener("click", async () => {
        try {
          const result = await api("POST", "/principal/api/approvals/" + encodeURIComponent(approval.id), { decision });
          status(decision === "approve" ? "Approved: order " + ((result.order || {}).id || "") + " is placed." : "Declined.");
          await showAgents();
        } catch (error) {
          status(error.message);
        }
      });
      item.append(button, " ");
    }
    return item;
  }

  async function showAgents() {
    const data = await api("GET", "/principal/api/agents");
    digits = data.minor_unit_digits;
    const list = $("agents");
    list.replaceChildren();
    if (data.agents.length === 0) list.append(el("p", { class: "muted", id: "no-agents" }, "No agent acts for you yet."));
    for (const agent of data.agents) {
      const card = el("article", { class: "agent card", "data-agent-id": agent.id, "data-status": agent.status },
        el("h3", {}, agent.display_name, " ", el("span", { class: "muted small" }, agent.operator + " · " + agent.status)),
        el("p", { class: "small" }, "Scopes: ", agent.scopes.join(" ") || "none", " · via ", agent.via,
          agent.client_id ? " (" + agent.client_id + ")" : ""),
        el("p", {}, "Wallet: ", el("strong", { class: "balance" }, money((agent.wallet || {}).balance))));
      const pending = agent.pending_approvals || [];
      if (pending.length) {
        card.append(el("h4", {}, "Waiting for your approval"), el("ul", { class: "approvals" }, ...pending.map(approvalItem)));
      }
      const orders = agent.orders || [];
      card.append(el("h4", {}, "Orders"), orders.length
        ? el("ul", { class: "orders" }, ...orders.map((order) =>
          el("li", { class: "order", "data-order-id": order.id }, order.id + " · " + order.status + " · " + money(order.total) + " · " + order.created_at)))
        : el("p", { class: "muted small" }, "None yet."));
      if (agent.status === "active") {
        card.append(limitsForm(agent));
        const revoke = el("button", { type: "button", class: "revoke secondary", "data-agent-id": agent.id }, "Revoke this agent");
        revoke.addEventListener("click", async () => {
          try {
            await api("POST", "/principal/api/agents/" + encodeURIComponent(agent.id) + "/revoke", {});
            status(agent.display_name + " is revoked; its tokens no longer work.");
            await showAgents();
          } catch (error) {
            status(error.message);
          }
        });
        card.append(revoke);
      }
      list.append(card);
    }
    show("agents-panel", true);
  }

  // Who a link signs in: its payload is a base64url JSON array ["principal-link", email, nonce, expires].
  function linkEmail(link) {
    try {
      const payload = link.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
      const fields = JSON.parse(atob(payload + "===".slice((payload.length + 3) % 4)));
      return fields[0] === "principal-link" && typeof fields[1] === "string" ? fields[1] : null;
    } catch (_) {
      return null;
    }
  }

  // A link is spent only after the person sees whom it signs in and presses the button: a page
  // that merely loads a link (a prefetch, another site's redirect) signs no one in.
  function confirmLink(link) {
    return new Promise((resolve, reject) => {
      const email = linkEmail(link);
      if (!email) return reject(new Error("This sign-in link is not valid; ask for a new one."));
      $("link-email").textContent = email;
      $("link-email-button").textContent = email;
      show("confirm-link", true);
      $("use-link").addEventListener("click", async () => {
        show("confirm-link", false);
        try {
          resolve(await signInWithLink(link));
        } catch (error) {
          reject(error);
        }
      }, { once: true });
    });
  }

  async function start() {
    try {
      let principal = null;
      if (params.get("link")) principal = await confirmLink(params.get("link"));
      const session = await api("GET", "/principal/api/session");
      if (!session.signed_in) return showSignIn();
      csrf = session.csrf_token;
      principal = session.principal || principal;
      $("signed-in-as").textContent = "Signed in as " + principal;
      show("sign-out", true);
      $("sign-out").addEventListener("click", async () => {
        await api("DELETE", "/principal/api/session");
        window.location.assign("/principal/");
      });
      if (params.get("authorize")) {
        await showConsent(params.get("authorize"));
      } else {
        await showAgents();
        if (window.PublicKeyCredential) {
          await showPasskeys();
          $("add-passkey").onclick = async () => {
            status("");
            try {
              await enrolPasskey();
              status("Passkey added: next time, sign in with it.");
              await showPasskeys();
            } catch (error) {
              status(error.message);
            }
          };
        }
      }
    } catch (error) {
      status(error.message);
      if (!csrf) showSignIn();
    }
  }

  start();
})();
