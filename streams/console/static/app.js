// RoomPulse control-room console, core: state, strings, DOM and API helpers, log-in, routing.
// Plain JS, no build step; rooms.js and feed.js add to window.RP. Data only goes in via textContent.
"use strict";
(function () {
  const MAX_CARDS = 300, POLL_MS = 5000, SPARK_SPAN_MS = 30 * 60 * 1000, SPARK_KEY = "rp-spark";
  const PAGE = 60;  // cards per overview page: the server reads only these rooms' KPIs
  const state = {
    me: null, lang: localStorage.getItem("rp-lang") || null, rooms: [], feed: new Map(),
    acks: new Map(), silences: [], lastId: "", es: null, room: null, window: "15m", problems: [],
    spark: JSON.parse(sessionStorage.getItem(SPARK_KEY) || "{}"), timer: null,
    list: { q: "", firing: false, byAlerts: true, offset: 0, total: 0 },
  };
  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const table = window.I18N[state.lang] || window.I18N["zh-CN"];
    let s = table[key] !== undefined ? table[key] : (window.I18N["zh-CN"][key] || key);
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  const kpiName = (k) => ((window.I18N[state.lang] || window.I18N["zh-CN"]).kpi || {})[k] || k;

  function el(tag, attrs, ...kids) {
    const node = tag === "svg" || tag === "polyline"
      ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
    return node;
  }

  function fmt(kind, v) {
    if (v === null || v === undefined) return "—";
    const loc = state.lang === "en" ? "en-US" : "zh-CN";
    if (kind === "rate") return (v * 100).toFixed(1) + "%";
    if (kind === "ms") return (v / 60000).toFixed(1) + " " + t("unit_min");
    if (kind === "money") return "¥" + Number(v).toLocaleString(loc, { maximumFractionDigits: 0 });
    return Number(v).toLocaleString(loc, { maximumFractionDigits: 1 });
  }
  const clock = (ms) => ms ? new Date(ms).toLocaleTimeString(state.lang === "en" ? "en-GB" : "zh-CN") : "";

  async function api(path, opts) {
    opts = opts || {};
    const headers = { "Accept": "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if ((opts.method || "GET") !== "GET" && state.me) headers["X-CSRF-Token"] = state.me.csrf;
    const r = await fetch("api/" + path, {
      method: opts.method || "GET", headers, credentials: "same-origin",
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
    const data = await r.json().catch(() => ({}));
    if (r.status === 401 && path !== "login") showLogin();
    return { ok: r.ok, status: r.status, data };
  }

  // ---- login / session -------------------------------------------------------------------
  function showLogin() {
    state.me = null;
    if (state.es) { state.es.close(); state.es = null; }
    $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true;
    $("who").textContent = ""; $("conn").hidden = true; state.problems = [];
    applyLang();
  }
  async function start() {
    const r = await api("me");
    if (!r.ok) { showLogin(); return; }
    state.me = r.data;
    if (!state.lang) state.lang = r.data.default_lang || "zh-CN";
    $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false; $("conn").hidden = false;
    $("viewer-note").hidden = state.me.role === "operator";
    document.body.dataset.role = state.me.role;
    applyLang();
    await RP.loadFeed();
    RP.connect();
    route();
    if (!state.timer) state.timer = setInterval(refresh, POLL_MS);
  }
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("token");
    const r = await api("login", { method: "POST", body: { token: input.value } });
    input.value = "";
    if (!r.ok) { $("login-error").textContent = t(r.status === 429 ? "login_throttled" : "login_failed"); return; }
    $("login-error").textContent = "";
    await start();
  });
  // Overview paging and filters: a new page or filter fetches that page's 30-minute history.
  function relist(change) {
    Object.assign(state.list, change); state.seeded = false; refresh();
  }
  let filterTimer = null;
  $("room-filter").addEventListener("input", (e) => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => relist({ q: e.target.value.trim(), offset: 0 }), 300);
  });
  $("room-firing").addEventListener("change", (e) => relist({ firing: e.target.checked, offset: 0 }));
  $("room-by-alerts").addEventListener("change", (e) => relist({ byAlerts: e.target.checked, offset: 0 }));
  $("room-prev").addEventListener("click", () => relist({ offset: Math.max(0, state.list.offset - PAGE) }));
  $("room-next").addEventListener("click", () => {
    if (state.list.offset + PAGE < state.list.total) relist({ offset: state.list.offset + PAGE });
  });
  $("logout").addEventListener("click", async () => { await api("logout", { method: "POST", body: {} }); showLogin(); });
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "zh-CN" : "en";
    localStorage.setItem("rp-lang", state.lang);
    applyLang(); RP.renderRooms(); RP.renderFeed(); if (state.room) RP.loadRoom();
  });

  function applyLang() {
    const lang = state.lang || "zh-CN";
    document.documentElement.lang = lang;
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
    $("lang").textContent = t("lang_toggle");
    if (state.me) $("who").textContent = state.me.name + " · " + t("role_" + state.me.role);
    setConn(state.es && state.es.readyState === 1);
    renderStatus();
  }
  // The worker's own state (api/status): while it cannot read or apply events the cards are
  // frozen and no alert fires, which must not look like calm rooms.
  async function checkStatus() {
    const r = await api("status");
    state.problems = r.ok ? (r.data.problems || []) : state.problems;
    renderStatus();
  }
  function renderStatus() {
    const b = $("pipeline"), p = state.problems || [];
    b.hidden = !p.length;
    b.textContent = p.map((code) => t("pipeline_" + code)).join(" · ");
    b.dataset.problems = p.join(" ");
  }
  function setConn(up) {
    const c = $("conn"); c.className = "conn " + (up ? "up" : "down");
    c.textContent = up ? t("connected") : t("disconnected");
  }

  // ---- routing: #/ overview, #/room/<id> ------------------------------------------------------
  window.addEventListener("hashchange", route);
  function route() {
    const m = location.hash.match(/^#\/room\/(.+)$/);
    state.room = m ? decodeURIComponent(m[1]) : null;
    $("overview").hidden = !!state.room; $("roompage").hidden = !state.room;
    refresh();
  }
  async function refresh() {
    if (!state.me) return;
    checkStatus();
    if (state.room) return RP.loadRoom();
    // The first load fetches each room's last 30 minutes; later polls append one point each.
    const l = state.list;
    const q = new URLSearchParams({ limit: PAGE, offset: l.offset, sort: l.byAlerts ? "alerts" : "room" });
    if (l.q) q.set("q", l.q);
    if (l.firing) q.set("alert", "firing");
    if (!state.seeded) q.set("history", "1");
    const r = await api("overview?" + q.toString());
    if (!r.ok) return;
    state.rooms = r.data.rooms || [];
    l.total = r.data.total !== undefined ? r.data.total : state.rooms.length;
    if (state.seeded) RP.recordSpark(r.data.now_ms); else { RP.seedSpark(r.data.now_ms); state.seeded = true; }
    RP.renderRooms();
  }

  // Shared with rooms.js and feed.js (loaded after this file, before DOMContentLoaded).
  window.RP = { state, $, t, kpiName, el, fmt, clock, api, refresh, setConn, showLogin,
                MAX_CARDS, SPARK_SPAN_MS, SPARK_KEY, PAGE };
  document.addEventListener("DOMContentLoaded", start);
})();
