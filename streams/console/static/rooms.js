// RoomPulse console: room cards with KPI status and sparklines, and the room page.
"use strict";
(function () {
  const RP = window.RP;
  const { state, $, t, kpiName, el, fmt, api, SPARK_SPAN_MS, SPARK_KEY } = RP;

  // ---- sparklines: history kept client-side (sessionStorage survives a reload) -----------------
  function recordSpark(now) {
    for (const room of state.rooms) {
      for (const k of room.kpis) {
        const key = room.room_id + "|" + k.kpi;
        const series = (state.spark[key] || []).filter((p) => now - p[0] <= SPARK_SPAN_MS);
        if (k.spark !== null) series.push([now, k.spark]);
        state.spark[key] = series;
      }
    }
    try { sessionStorage.setItem(SPARK_KEY, JSON.stringify(state.spark)); } catch (e) { /* full */ }
  }
  function seedSpark(now) {
    for (const room of state.rooms) {
      for (const [kpi, vals] of Object.entries(room.history || {})) {
        const n = vals.length;
        state.spark[room.room_id + "|" + kpi] = vals
          .map((v, i) => [now - (n - 1 - i) * 60000, v]).filter((p) => p[1] !== null);
      }
    }
    try { sessionStorage.setItem(SPARK_KEY, JSON.stringify(state.spark)); } catch (e) { /* full */ }
  }
  function sparkline(points) {
    const svg = el("svg", { viewBox: "0 0 100 20", preserveAspectRatio: "none", role: "img",
                            "aria-label": t("last_30") });
    if (points.length < 2) return svg;
    const t0 = points[0][0], t1 = points[points.length - 1][0] || t0 + 1;
    const vs = points.map((p) => p[1]), lo = Math.min(...vs), hi = Math.max(...vs);
    const xy = points.map((p) => [((p[0] - t0) / Math.max(1, t1 - t0)) * 100,
                                  19 - ((p[1] - lo) / ((hi - lo) || 1)) * 18]);
    svg.append(el("polyline", { points: xy.map((q) => q[0].toFixed(1) + "," + q[1].toFixed(1)).join(" ") }));
    return svg;
  }

  // ---- overview ------------------------------------------------------------------------------
  function stageText(room) {
    const parts = [t("stage_" + (room.stage || "none"))];
    if (room.phase) parts.push(t("phase_" + room.phase));
    return parts.join(" · ");
  }
  function targetText(k) {
    const b = [];
    if (k.min !== null) b.push("≥ " + fmt(k.kind, k.min));
    if (k.max !== null) b.push("≤ " + fmt(k.kind, k.max));
    return b.length ? t("target") + " " + b.join(" ") + " · " + k.window : k.window;
  }
  function renderPager() {
    const l = state.list, n = state.rooms.length;
    $("room-range").textContent = n ? t("page_range", { from: l.offset + 1, to: l.offset + n, total: l.total }) : "";
    $("room-prev").disabled = l.offset === 0;
    $("room-next").disabled = l.offset + n >= l.total;
  }
  function renderRooms() {
    renderPager();
    const box = $("rooms"); box.replaceChildren();
    if (!state.rooms.length) { box.append(el("p", { class: "note", text: t("no_rooms") })); return; }
    for (const room of state.rooms) {
      const meta = el("div", { class: "meta" },
        el("span", { text: stageText(room) }),
        room.live ? el("span", { class: "badge live", text: t("live") }) : el("span", { text: t("not_live") }),
        room.minutes_since_start !== null
          ? el("span", { text: t("minutes_since_start", { n: Math.floor(room.minutes_since_start) }) }) : null,
        el("span", { class: "online", text: t("online", { n: fmt("count", room.online_viewers || 0) }) }),
        room.pinned_product_name ? el("span", { text: t("pinned") + ": " + room.pinned_product_name }) : null);
      const list = el("ul", { class: "kpis" });
      for (const k of room.kpis) {
        list.append(el("li", { class: "kpi st-" + k.status, "data-kpi": k.kpi, "data-status": k.status },
          el("span", { class: "name", text: kpiName(k.kpi) }),
          el("span", { class: "val", text: fmt(k.kind, k.value) }),
          el("span", { class: "cue", text: t("st_" + k.status) }),
          el("span", { class: "tgt", text: targetText(k) }),
          sparkline(state.spark[room.room_id + "|" + k.kpi] || [])));
      }
      const title = el("h3", {}, el("a", { href: "#/room/" + encodeURIComponent(room.room_id), text: room.room_id }),
        room.firing ? el("span", { class: "badge alerts", text: t("firing_count", { n: room.firing }) }) : null);
      box.append(el("article", { class: "room", "data-room": room.room_id }, title, meta, list));
    }
  }

  // ---- room page -----------------------------------------------------------------------------
  async function loadRoom() {
    const room = state.room;
    const r = await api("rooms/" + encodeURIComponent(room) + "?window=" + encodeURIComponent(state.window));
    if (room !== state.room || !r.ok) return;
    renderRoom(r.data);
  }
  function renderRoom(page) {
    const box = $("roompage"); box.replaceChildren();
    const sel = el("select", { "aria-label": t("window"), onchange: (e) => { state.window = e.target.value; loadRoom(); } });
    for (const w of ["1m", "5m", "15m", "30m", "broadcast"]) sel.append(el("option", { value: w, selected: w === state.window, text: w }));
    box.append(el("p", {}, el("a", { href: "#/", text: t("back") })),
      el("h2", {}, el("span", { text: page.room.room_id }), el("small", { text: stageText(page.room) }), sel));
    box.append(el("h3", { text: t("funnel") }));
    const funnel = el("div", { class: "funnel" });
    for (const s of page.funnel) {
      funnel.append(el("div", { class: "step", "data-step": s.step },
        el("div", { text: t("step_" + s.step) }), el("div", { class: "v", text: fmt("count", s.value) }),
        el("div", { class: "r", text: s.rate === null ? "" : t("step_rate") + " " + fmt("rate", s.rate) })));
    }
    box.append(funnel, el("h3", { text: t("products") }));
    if (!page.products.length) box.append(el("p", { class: "note", text: t("no_products") }));
    else {
      const tb = el("tbody");
      for (const p of page.products) {
        tb.append(el("tr", { class: p.pinned ? "pinned" : null, "data-product": p.product_id },
          el("td", { text: (p.pinned ? "📌 " + t("pinned") + " · " : "") + (p.product_name || p.product_id) }),
          el("td", { text: fmt("count", p.exposures) }), el("td", { text: fmt("rate", p.ctr) }),
          el("td", { text: fmt("rate", p.cart_rate) }), el("td", { text: fmt("count", p.orders) }),
          el("td", { text: fmt("money", p.gmv) })));
      }
      box.append(el("table", { class: "products" }, el("thead", {}, el("tr", {},
        ...["col_product", "col_exposures", "col_ctr", "col_cart_rate", "col_orders", "col_gmv"].map((c) => el("th", { text: t(c) })))), tb));
    }
    box.append(el("h3", { text: t("sources") }));
    if (!page.sources.length) box.append(el("p", { class: "note", text: t("no_sources") }));
    else {
      const tb = el("tbody");
      for (const s of page.sources) {
        const bar = el("span", { class: "bar" }); bar.style.width = Math.round((s.entry_share || 0) * 120) + "px";
        tb.append(el("tr", { "data-source": s.source }, el("td", { text: t("src_" + s.source) }),
          el("td", { text: fmt("count", s.entries) }), el("td", {}, bar, fmt("rate", s.entry_share)),
          el("td", { text: fmt("rate", s.entry_rate) })));
      }
      box.append(el("table", { class: "sources" }, el("thead", {}, el("tr", {},
        ...["col_source", "col_entries", "col_share", "col_entry_rate"].map((c) => el("th", { text: t(c) })))), tb));
    }
  }

  Object.assign(RP, { recordSpark, seedSpark, renderRooms, loadRoom });
})();
