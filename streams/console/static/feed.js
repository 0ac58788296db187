// RoomPulse console: the live alert feed (Server-Sent Events), acknowledge and silence.
"use strict";
(function () {
  const RP = window.RP;
  const { state, $, t, el, clock, api, MAX_CARDS } = RP;

  // ---- alert feed (SSE) ----------------------------------------------------------------------
  const episode = (a) => a.fingerprint + "|" + a.starts_at;
  function take(doc) {
    if (doc.kind === "alert") {
      // One card per firing episode: a repeat keeps its place, a resolution moves it to the top.
      const a = doc.alert;
      const key = episode(a);
      const prev = state.feed.get(key);
      state.feed.set(key, { id: prev && prev.alert.state === a.state ? prev.id : doc.id, alert: a });
      if (doc.ack) state.acks.set(episode(a), doc.ack);
    } else if (doc.kind === "ack") {
      state.acks.set(doc.fingerprint + "|" + doc.starts_at, doc);
    } else if (doc.kind === "silence") {
      state.silences = state.silences.filter((s) => s.id !== doc.silence.id).concat([doc.silence]);
    }
  }
  async function loadFeed() {
    const r = await api("alerts?limit=200");
    if (!r.ok) return;
    state.feed.clear(); state.acks.clear();
    state.silences = r.data.silences || [];
    for (const doc of r.data.events.slice().reverse()) take(doc);
    state.lastId = r.data.last_id;
    renderFeed();
  }
  function connect() {
    if (state.es) state.es.close();
    const es = new EventSource("api/stream?after=" + encodeURIComponent(state.lastId || ""));
    state.es = es;
    es.onopen = () => RP.setConn(true);
    es.onerror = () => { RP.setConn(false); if (state.me) api("me"); };
    const onDoc = (ev) => {
      const doc = JSON.parse(ev.data);
      state.lastId = doc.id; take(doc); renderFeed();
      if (doc.kind === "alert" && !state.room) RP.refresh();
    };
    for (const kind of ["alert", "ack", "silence"]) es.addEventListener(kind, onDoc);
    es.addEventListener("expired", () => { es.close(); RP.showLogin(); });
  }
  const idKey = (id) => id.split("-").map(Number);
  function newerFirst(a, b) {
    const x = idKey(a.id), y = idKey(b.id);
    return y[0] - x[0] || y[1] - x[1];
  }
  function renderFeed() {
    const now = Date.now();
    state.silences = state.silences.filter((s) => s.ends_ms > now);
    const sil = $("silences"); sil.replaceChildren();
    for (const s of state.silences) {
      sil.append(el("div", { class: "silence", "data-rule": s.rule, "data-room": s.room_id },
        "🔕 " + t("silenced_by", { rule: s.rule, room: s.room_id, who: s.created_by, until: clock(s.ends_ms) })));
    }
    const list = $("feed"); list.replaceChildren();
    const items = [...state.feed.values()].sort(newerFirst);
    for (const old of items.splice(MAX_CARDS)) state.feed.delete(episode(old.alert));
    if (!items.length) list.append(el("li", { class: "feed-note", text: t("no_alerts") }));
    for (const item of items) list.append(alertCard(item.alert));
  }
  function alertCard(a) {
    const [summary, action] = [a.summary[state.lang] || a.summary["zh-CN"] || "",
                               a.action[state.lang] || a.action["zh-CN"] || ""];
    const ack = state.acks.get(episode(a));
    const firing = a.state === "firing";
    const card = el("li", { class: "alert sev-" + a.severity + (firing ? "" : " resolved"),
                            "data-fp": a.fingerprint, "data-state": a.state, "data-room": a.room_id },
      el("div", { class: "head" },
        el("span", { class: "badge sev", text: t("sev_" + a.severity) }),
        el("span", { class: "badge", text: t("state_" + a.state) }),
        el("a", { href: "#/room/" + encodeURIComponent(a.room_id), text: a.room_id }),
        a.product_name ? el("span", { text: a.product_name }) : null,
        el("span", { text: firing ? t("since", { when: clock(a.starts_at) })
                                  : t("resolved_at", { when: clock(a.ends_at) }) })),
      el("p", { class: "summary", text: summary }),
      action ? el("div", { class: "action-label", text: t("action") }) : null,
      action ? el("p", { class: "action", text: action }) : null);
    const tools = el("div", { class: "tools" });
    if (ack) tools.append(el("span", { class: "ack-info", text: t("acked_by", { who: ack.by, when: clock(ack.at_ms) }) }));
    if (firing && state.me && state.me.role === "operator") {
      if (!ack) tools.append(el("button", { type: "button", class: "ack-btn", text: t("ack"), onclick: () => acknowledge(a) }));
      const mins = el("input", { type: "number", min: "1", max: "1440", value: "30", "aria-label": t("minutes") });
      tools.append(el("button", { type: "button", class: "silence-btn btn-light", title: t("silence_for"),
        text: t("silence"), onclick: () => silence(a, parseInt(mins.value, 10)) }), mins, t("minutes"));
    }
    if (tools.childNodes.length) card.append(tools);
    return card;
  }
  async function acknowledge(a) {
    const r = await api("alerts/" + encodeURIComponent(a.fingerprint) + "/ack", { method: "POST", body: {} });
    if (!r.ok) { alert(t("ack_failed") + " (" + r.status + ")"); return; }
    state.acks.set(episode(a), r.data.ack); renderFeed();
  }
  async function silence(a, minutes) {
    const r = await api("silences", { method: "POST", body: { rule: a.rule, room_id: a.room_id, minutes } });
    if (!r.ok) { alert(t("silence_failed") + " (" + r.status + ")"); return; }
    take({ kind: "silence", silence: r.data.silence }); renderFeed();
  }

  Object.assign(RP, { loadFeed, connect, renderFeed });
})();
