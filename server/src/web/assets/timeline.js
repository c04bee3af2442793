// spark-mock console: the token timeline. One row per token, a bar from issue to death,
// labelled with the client and the reason it died; refused uses after death are marked.
// Every value goes into the page through textContent (see el()), never as markup.
"use strict";

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = dv;
    else if (k === "style") Object.assign(node.style, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fmtDuration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  if (s < 172800) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

function fmtTime(iso, withDate) {
  if (!iso) return "";
  const d = new Date(iso);
  const t = d.toISOString();
  return withDate ? t.slice(5, 10) + " " + t.slice(11, 16) : t.slice(11, 19);
}

// "replaced by a password grant from client spark-ios at 2014-…Z" → without the time.
function shortReason(death) {
  return (death || "").replace(/ at \d{4}-\d\d-\d\dT[^ ]*Z$/, "");
}

function endOf(t, now) {
  if (t.invalidated) return Date.parse(t.invalidated.at);
  if (t.expires_at && Date.parse(t.expires_at) <= now) return Date.parse(t.expires_at);
  return now;
}

function reasonOf(t, now) {
  if (t.status === "valid") {
    return t.expires_at
      ? "valid · expires in " + fmtDuration(Date.parse(t.expires_at) - now)
      : "valid · never expires";
  }
  return shortReason(t.death) || t.status;
}

const MAX_ROWS_PER_USER = 12;

// The time scale: a blend of clock time and event order. Pure clock time squeezes a token
// that lived a second next to one that lived an hour; pure order hides durations. Each
// moment something happened (an issue, a death, a refused use) gets a share of the width
// of its own, and the rest follows the clock.
function makeScale(tokens, now) {
  const moments = [now];
  for (const t of tokens) {
    moments.push(Date.parse(t.issued.at), endOf(t, now));
    for (const r of t.rejected_uses) moments.push(Date.parse(r.at));
  }
  const knots = [...new Set(moments.filter((m) => m <= now))].sort((a, b) => a - b);
  const first = knots[0];
  const span = Math.max(now - first, 1);
  const ordinal = (ms) => {
    if (knots.length < 2) return 1;
    let lo = 0;
    let hi = knots.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (knots[mid] <= ms) lo = mid;
      else hi = mid - 1;
    }
    const i = lo;
    const [a, b] = [knots[i], knots[i + 1]];
    const f = b > a ? Math.min(Math.max((ms - a) / (b - a), 0), 1) : 1;
    return (i + f) / (knots.length - 1);
  };
  const frac = (ms) => 0.6 * ordinal(ms) + 0.4 * ((ms - first) / span);
  const x = (ms) => (2 + frac(ms) * 94).toFixed(3) + "%";
  return { x, knots, first, span };
}

function renderTimeline(container, users, tokens, nowIso) {
  const now = Date.parse(nowIso) || Date.now();
  const { x, knots, span } = makeScale(tokens, now);
  const withDate = span > 86400000;

  const byUser = new Map(users.map((u) => [u.username, []]));
  for (const t of tokens) {
    if (!byUser.has(t.user)) byUser.set(t.user, []);
    byUser.get(t.user).push(t);
  }
  const blocks = [];
  for (const [user, list] of byUser) {
    const valid = list.filter((t) => t.status === "valid").length;
    const block = el("div", { class: "user", data: { user } },
      el("div", { class: "user-head" },
        el("span", { class: "user-name", text: user }),
        el("span", { class: "user-count", text: list.length + " token" + (list.length === 1 ? "" : "s") + ", " + valid + " valid" })));
    const shown = list.slice(-MAX_ROWS_PER_USER);
    if (list.length > shown.length) {
      block.append(el("div", { class: "older", text: "+ " + (list.length - shown.length) + " older tokens (see /__mock/tokens)" }));
    }
    if (list.length === 0) block.append(el("div", { class: "older", text: "no tokens yet" }));
    for (const t of shown) block.append(tokenRow(t, now, x));
    blocks.push(block);
  }
  const ticks = el("div", { class: "axis" });
  const label = (ms) => {
    const iso = new Date(ms).toISOString();
    return span < 60000 ? iso.slice(11, 21) : fmtTime(iso, withDate);
  };
  let last = { pos: -Infinity, text: "" };
  for (const ms of knots) {
    const pos = parseFloat(x(ms));
    const isNow = ms === now;
    const text = isNow ? "now" : label(ms);
    if (!isNow && (pos - last.pos < 15 || text === last.text)) continue;
    if (isNow && pos - last.pos < 10 && ticks.lastChild) ticks.lastChild.remove();
    last = { pos, text };
    ticks.append(el("span", { class: "tick", style: { left: x(ms) }, text }));
  }
  const axisRow = el("div", { class: "row axis-row" }, el("div", { class: "label" }), ticks);
  container.replaceChildren(...blocks, axisRow);
  if (blocks.length === 0) container.replaceChildren(el("p", { class: "empty", text: "No users yet. Sign one up with POST /v1/users." }));
}

function tokenRow(t, now, x) {
  const start = Date.parse(t.issued.at);
  const end = endOf(t, now);
  const reason = reasonOf(t, now);
  const title = t.story.join("\n");
  const bar = el("div", {
    class: "bar " + t.status + (t.status === "valid" ? " open" : ""),
    style: { left: x(start), width: "calc(" + x(end) + " - " + x(start) + ")" },
    title,
  }, el("span", { class: "bar-text", text: t.client }));
  const track = el("div", { class: "track" }, bar);
  if (t.rejected_uses.length) {
    const last = Math.max(...t.rejected_uses.map((r) => Date.parse(r.at)));
    if (last > end) {
      track.append(el("div", { class: "afterlife", style: { left: x(end), width: "calc(" + x(last) + " - " + x(end) + ")" } }));
    }
  }
  for (const r of t.rejected_uses) {
    track.append(el("span", {
      class: "reject",
      style: { left: x(Date.parse(r.at)) },
      title: "refused " + r.route + " at " + r.at + (r.remote_addr ? " from " + r.remote_addr : "") + ": " + r.reason,
      text: "✕",
    }));
  }
  const rejected = t.rejected_count
    ? el("span", { class: "rejected-count", text: " · " + t.rejected_count + " refused" })
    : null;
  const label = el("div", { class: "label", title },
    el("div", { class: "label-top" },
      el("span", { class: "client", text: t.client }),
      el("span", { class: "grant", text: t.issued.grant }),
      el("code", { class: "tok", text: t.token.slice(0, 8) + "…" })),
    el("div", { class: "reason " + t.status }, reason, rejected));
  return el("div", {
    class: "row token-row",
    data: { token: t.token, status: t.status, client: t.client, reason: shortReason(t.death) },
  }, label, track);
}

window.SparkTimeline = { el, fmtDuration, fmtTime, renderTimeline };
