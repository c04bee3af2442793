// spark-mock console: reads the admin API and stays live from /__mock/events.
// Every value is written with textContent (el() in timeline.js); nothing is parsed as HTML.
"use strict";

(function () {
  const { el, fmtDuration, fmtTime, renderTimeline } = window.SparkTimeline;
  const $ = (id) => document.getElementById(id);
  const adminToken = new URLSearchParams(location.search).get("admin_token");
  const api = (path) =>
    adminToken ? path + (path.includes("?") ? "&" : "?") + "admin_token=" + encodeURIComponent(adminToken) : path;

  $("state-link").href = api("/__mock/state");

  const MAX_EVENTS = 100;
  const MAX_REQUESTS = 60;
  const VARIABLE_REFRESH_MS = 5000;
  // The console's own page loads are not worth showing in the journal.
  const OWN_PATHS = /^\/(console(\/.*)?|build\/build\.css|favicon\.ico)?$/;

  const data = { state: null, tokens: [], tokensNow: null, clockSkew: 0 };
  const cards = new Map(); // device id → { node, parts, fnKey, varKey, reading }
  const events = [];

  async function getJson(path, options) {
    const resp = await fetch(api(path), options);
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.error || body.error_description || resp.status + " " + resp.statusText);
    return body;
  }

  function problem(message) {
    const box = $("problem");
    box.hidden = !message;
    box.textContent = message || "";
  }

  // ---- refreshing, coalesced: one fetch per part in flight, another queued if needed.
  const pending = new Set();
  let running = false;
  function refresh(...parts) {
    parts.forEach((p) => pending.add(p));
    if (!running) run();
  }
  async function run() {
    running = true;
    while (pending.size) {
      const parts = new Set(pending);
      pending.clear();
      try {
        const jobs = [];
        if (parts.has("tokens") || parts.has("devices")) jobs.push(loadState());
        if (parts.has("tokens")) jobs.push(loadTokens());
        if (parts.has("requests")) jobs.push(loadRequests());
        await Promise.all(jobs);
        drawTimeline();
        problem(null);
      } catch (e) {
        problem("The admin API did not answer: " + e.message);
      }
    }
    running = false;
  }

  async function loadState() {
    const s = await getJson("/__mock/state");
    data.state = s;
    data.clockSkew = Date.parse(s.clock.now) - Date.now();
    $("profile").textContent = s.profile;
    const select = $("policy");
    if (document.activeElement !== select) select.value = s.policy;
    drawDevices(s.devices);
  }

  async function loadTokens() {
    const t = await getJson("/__mock/tokens");
    data.tokens = t.tokens;
    data.tokensNow = t.now;
  }

  function mockNow() {
    return new Date(Date.now() + data.clockSkew).toISOString();
  }

  function drawTimeline() {
    if (!data.state) return;
    renderTimeline($("timeline"), data.state.users, data.tokens, mockNow());
  }

  // ---- devices
  function deviceName(id) {
    const d = data.state && data.state.devices.find((d) => d.id === id);
    return d ? d.name || d.id : id;
  }

  function drawDevices(devices) {
    const box = $("devices");
    const seen = new Set();
    for (const d of devices) {
      seen.add(d.id);
      let card = cards.get(d.id);
      if (!card) {
        card = makeCard(d);
        cards.set(d.id, card);
        box.append(card.node);
      }
      updateCard(card, d);
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.node.remove();
        cards.delete(id);
      }
    }
    $("devices-empty").hidden = devices.length > 0;
  }

  function makeCard(d) {
    const parts = {
      dot: el("span", { class: "dot" }),
      name: el("b", { class: "device-name" }),
      status: el("span", { class: "device-status" }),
      meta: el("div", { class: "device-meta" }),
      vars: el("tbody"),
      fns: el("div", { class: "fns" }),
      events: el("ul", { class: "device-events" }),
    };
    const node = el("article", { class: "device", data: { deviceId: d.id } },
      el("header", {}, parts.dot, parts.name, parts.status),
      parts.meta,
      el("table", { class: "vars" }, el("thead", {}, el("tr", {}, el("th", { text: "variable" }), el("th", { text: "type" }), el("th", { text: "value" }))), parts.vars),
      parts.fns,
      parts.events);
    return { node, parts, fnKey: null, varKey: null, reading: false, lastRead: 0, device: d };
  }

  function updateCard(card, d) {
    const p = card.parts;
    card.device = d;
    card.node.dataset.online = d.online ? "true" : "false";
    p.dot.className = "dot " + (d.online ? "on" : "off");
    p.name.textContent = d.name || d.id;
    p.status.textContent = d.online ? "online" : "offline";
    p.status.className = "device-status " + (d.online ? "on" : "off");
    const heard = d.last_heard ? "heard " + fmtDuration(Date.now() + data.clockSkew - Date.parse(d.last_heard)) + " ago" : "never heard";
    p.meta.textContent = d.id + " · " + (d.owner || "unclaimed") + " · " + heard;
    const varKey = JSON.stringify(d.variables);
    if (varKey !== card.varKey) {
      card.varKey = varKey;
      const names = Object.keys(d.variables || {});
      p.vars.replaceChildren(...names.map((n) =>
        el("tr", { data: { variable: n } }, el("td", { text: n }), el("td", { class: "type", text: d.variables[n] }), el("td", { class: "value", text: "…" }))));
      if (!names.length) p.vars.append(el("tr", {}, el("td", { colspan: "3", class: "muted", text: "no variables" })));
      card.lastRead = 0;
    }
    const fnKey = JSON.stringify(d.functions);
    if (fnKey !== card.fnKey) {
      card.fnKey = fnKey;
      p.fns.replaceChildren(...(d.functions || []).map((f) => functionForm(d.id, f)));
    }
    for (const b of p.fns.querySelectorAll("button")) b.disabled = !d.online;
    if (d.online && Date.now() - card.lastRead > VARIABLE_REFRESH_MS) readVariables(card);
  }

  function functionForm(id, fn) {
    const arg = el("input", { type: "text", name: "arg", placeholder: "argument", "aria-label": fn + " argument" });
    const out = el("output", { class: "result" });
    const form = el("form", { class: "fn", data: { fn } },
      el("code", { text: fn + "(" }), arg, el("code", { text: ")" }), el("button", { type: "submit", text: "Call" }), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      out.className = "result busy";
      out.textContent = "calling…";
      try {
        const r = await getJson("/__mock/devices/" + encodeURIComponent(id) + "/call/" + encodeURIComponent(fn), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ arg: arg.value }),
        });
        out.className = "result ok";
        out.textContent = "→ " + r.return_value;
        out.dataset.value = String(r.return_value);
      } catch (e) {
        out.className = "result err";
        out.textContent = e.message;
      }
    });
    return form;
  }

  async function readVariables(card) {
    if (card.reading) return;
    card.reading = true;
    card.lastRead = Date.now();
    const d = card.device;
    for (const row of card.parts.vars.querySelectorAll("tr[data-variable]")) {
      const cell = row.querySelector(".value");
      try {
        const r = await getJson("/__mock/devices/" + encodeURIComponent(d.id) + "/variables/" + encodeURIComponent(row.dataset.variable));
        cell.textContent = typeof r.result === "string" ? r.result : JSON.stringify(r.result);
        cell.className = "value";
      } catch (e) {
        cell.textContent = e.message;
        cell.className = "value err";
      }
    }
    card.reading = false;
  }

  // ---- events
  function addEvent(e) {
    events.unshift(e);
    events.length = Math.min(events.length, MAX_EVENTS);
    const row = el("tr", { class: e.public ? "" : "private", data: { name: e.name } },
      el("td", { class: "time", text: fmtTime(e.published_at) }),
      el("td", { class: "name", text: e.name }),
      el("td", { class: "data", text: e.data === null ? "null" : e.data }),
      el("td", { class: "source", text: e.coreid === "api" ? "api" : deviceName(e.coreid) }),
      el("td", { class: "vis", text: e.public ? "public" : "private" }));
    const body = $("events-body");
    body.prepend(row);
    while (body.children.length > MAX_EVENTS) body.lastChild.remove();
    $("events-empty").hidden = true;
    const card = cards.get(e.coreid);
    if (card) {
      const list = card.parts.events;
      list.prepend(el("li", {}, el("span", { class: "time", text: fmtTime(e.published_at) }), " ", el("b", { text: e.name }), " ", e.data === null ? "" : e.data));
      while (list.children.length > 5) list.lastChild.remove();
      card.lastRead = 0;
      if (card.device.online) readVariables(card);
    }
  }

  // ---- the request journal
  async function loadRequests() {
    const r = await getJson("/__mock/requests");
    const rows = r.requests.filter((q) => !OWN_PATHS.test(q.path)).slice(-MAX_REQUESTS).reverse();
    $("requests-body").replaceChildren(...rows.map((q) => {
      // Requests the mock sent to a webhook target: an arrow, the target URL, and the
      // event that triggered it (or why it failed; status 0 means no answer at all).
      // OTA updates the mock sent to a device: the same arrow, the file's size.
      const hook = q.kind === "webhook";
      const flash = q.kind === "flash" && q.flash;
      const out = hook || !!flash;
      const note = hook ? (q.error || "webhook " + q.webhook + " for " + q.event)
        : flash ? (q.error || "firmware " + flash.firmware_binary_id + ", " + flash.bytes + " bytes in "
          + flash.chunks + " chunks" + (flash.resent ? ", " + flash.resent + " resent" : ""))
        : q.rejected ? "refused: " + q.rejected : q.fault ? "fault " + q.fault : "";
      const shortNote = note.replace(/ at \d{4}-\d\d-\d\dT[^ ]*Z$/, "");
      const who = q.client || q.user || "";
      const failed = q.status >= 400 || (out && q.error);
      return el("tr", { class: (q.rejected ? "rejected " : "") + (out ? "outgoing " : "") + (failed ? "failed" : "") },
        el("td", { class: "time", text: fmtTime(q.at) }),
        el("td", { class: "path", title: ((hook ? "webhook → " : flash ? "OTA update → " : "") + q.method + " " + q.path + " " + (q.user_agent || "")).trim() },
          el("b", { class: "method", text: (out ? "→ " : "") + q.method }), " " + q.path),
        el("td", { class: "status s" + String(q.status)[0], text: q.status || "–" }),
        el("td", { class: "who", text: who, title: q.user || "" }),
        el("td", { class: "mono", text: q.token || "" }),
        el("td", { class: "note" + (out && !q.error ? " ok" : ""), text: shortNote, title: note }));
    }));
    $("requests-empty").hidden = rows.length > 0;
  }

  // ---- live updates
  function connect() {
    const live = $("live");
    const source = new EventSource(api("/__mock/events"));
    source.onopen = () => {
      live.className = "live on";
      live.textContent = "live";
      refresh("tokens", "devices", "requests");
    };
    source.onerror = () => {
      live.className = "live off";
      live.textContent = "reconnecting…";
    };
    source.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch (_) { return; }
      if (msg.kind === "event") addEvent(msg);
      else if (msg.kind === "changed") refresh(...msg.parts);
    };
  }

  $("policy").addEventListener("change", async (ev) => {
    try {
      await getJson("/__mock/policy", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ policy: ev.target.value }) });
      refresh("tokens");
    } catch (e) {
      problem("Could not change the policy: " + e.message);
    }
  });

  // The clock and the open bars move on their own; a slow full poll covers a dead stream.
  setInterval(() => {
    $("clock").textContent = mockNow().replace("T", " ").slice(0, 19) + " UTC";
    for (const card of cards.values()) updateCard(card, card.device);
  }, 1000);
  setInterval(drawTimeline, 5000);
  setInterval(() => refresh("tokens", "devices", "requests"), 15000);

  refresh("tokens", "devices", "requests");
  connect();
})();
