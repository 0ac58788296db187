"""Writes the four roompulse dashboards to dashboards/*.json (`--check`: fail if they are stale)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from panels import dashboard, product_kpi, room_kpi, row, stat, table, timeseries, unit_of, variable

OUT = Path(__file__).resolve().parent / "dashboards"
WINDOW = variable("window", "Window", "label_values(roompulse_room_kpi, window)")
ROOM_LINK = "/d/roompulse-room?var-room=${__value.raw}&var-window=${window}&${__url_time_range}"
ROOM_COLUMNS = [("Online", "online_viewers"), ("UV", "uv"), ("Entries", "entries"),
                ("Avg stay", "avg_stay_ms"), ("Interaction", "interaction_rate"),
                ("CTR", "ctr"), ("Cart rate", "cart_rate"), ("Order rate", "order_rate"),
                ("Orders", "orders"), ("GMV", "gmv"), ("AOV", "aov"), ("UV value", "uv_value"),
                ("GPM", "gpm"), ("Negative", "negative_comment_share")]
FIRING = ("max by (room, rule, severity) "
          "(roompulse_alerts{{room{room}, state=\"firing\"}}) > 0")
PRODUCT_COLUMNS = [("Exposures", "product_exposures"), ("Clicks", "product_clicks"),
                   ("CTR", "ctr"), ("Cart adds", "cart_adds"), ("Cart rate", "cart_rate"),
                   ("Orders", "orders"), ("Order rate", "order_rate"), ("GMV", "gmv")]


def rooms_overview() -> dict:
    room = variable("room", "Rooms", 'label_values(roompulse_room_kpi{window="$window"}, room)',
                    multi=True, include_all=True)
    cols = [(h, room_kpi(k), unit_of(k)) for h, k in ROOM_COLUMNS]

    def by_room(k: str) -> list[tuple[str, str]]:
        return [(room_kpi(k), "{{room}}")]

    return dashboard("roompulse-rooms", "roompulse / Rooms overview",
                     "Every room's headline KPIs over the selected window.", [WINDOW, room], [
        stat("Rooms", 'count(max by (room) (roompulse_room_kpi{room=~"$room", window="$window"}))',
             desc="Rooms with KPIs in Redis (live or ended within the room TTL)."),
        stat("Online viewers", f"sum({room_kpi('online_viewers')})"),
        stat("UV", f"sum({room_kpi('uv')})", desc="Distinct viewers, summed over rooms."),
        stat("Orders", f"sum({room_kpi('orders')})"),
        stat("GMV", f"sum({room_kpi('gmv')})", desc="Paid amounts minus refunds."),
        stat("Events/s", 'sum(room:roompulse_room_events:per_second{room=~"$room"})',
             desc="Count KPIs of the shortest rolling window / its length (recording rule)."),
        table("Rooms", cols, ["room"], h=11, links={"room": ROOM_LINK}, sort_by="GMV",
              desc="Click a room for its detail dashboard."),
        table("Firing room alerts", [("Series", FIRING.format(room='=~"$room"'), "short")],
              ["room", "rule", "severity"], h=8, links={"room": ROOM_LINK},
              desc="From roompulse's alert engine (roompulse_alerts); the action text is in "
                   "the alert sinks."),
        timeseries("GMV by room", by_room("gmv")),
        timeseries("Online viewers by room", by_room("online_viewers")),
        timeseries("Events/s by room",
                   [('room:roompulse_room_events:per_second{room=~"$room"}', "{{room}}")],
                   desc="Recording rule room:roompulse_room_events:per_second."),
        timeseries("Order rate by room", by_room("order_rate"), unit="percentunit",
                   desc="Buyers / UV."),
        timeseries("Interaction rate by room", by_room("interaction_rate"), unit="percentunit",
                   desc="Distinct interacting users / UV."),
        timeseries("Negative comment share by room", by_room("negative_comment_share"),
                   unit="percentunit", desc="Negative comments / comments (舆情)."),
    ])


def room_detail() -> dict:
    room = variable("room", "Room", 'label_values(roompulse_room_kpi{window="$window"}, room)')
    one = '="$room"'

    def kpis(*ks: str) -> list[tuple[str, str]]:
        return [(room_kpi(k, one), k) for k in ks]

    def s(title: str, k: str, **kw: Any) -> dict:
        return stat(title, room_kpi(k, one), unit=unit_of(k), w=3, **kw)

    product_link = ("/d/roompulse-products?var-room=${room}&var-product=${__value.raw}"
                    "&var-window=${window}&${__url_time_range}")
    prod_cols = [(h, product_kpi(k, one, product=""), unit_of(k)) for h, k in PRODUCT_COLUMNS]
    return dashboard("roompulse-room", "roompulse / Room detail",
                     "One room: traffic, engagement, conversion and retention KPIs.",
                     [WINDOW, room], [
        s("Online", "online_viewers"), s("UV", "uv"), s("GMV", "gmv"), s("Orders", "orders"),
        s("AOV", "aov"), s("Order rate", "order_rate"), s("CTR", "ctr"),
        s("Interaction rate", "interaction_rate"),
        table("Firing alerts", [("Series", FIRING.format(room=one), "short")],
              ["room", "rule", "severity"], h=6),
        timeseries("Alert series firing by rule", [(
            'sum by (rule) (roompulse_alerts{room="$room", state="firing"})', "{{rule}}")],
                   h=6, stack=True),
        row("Traffic (引流期)"),
        timeseries("Exposures, entries, UV", kpis("exposures", "entries", "uv")),
        timeseries("Online viewers and events/s", kpis("online_viewers") + [
            ('room:roompulse_room_events:per_second{room="$room"}', "events/s")]),
        timeseries("Entry rate", kpis("entry_rate"), unit="percentunit", w=8),
        timeseries("Average stay", kpis("avg_stay_ms"), unit="ms", w=8,
                   desc="Total watch time / entries; seed target >= 5 minutes."),
        timeseries("New followers", kpis("new_followers"), w=8),
        row("Engagement"),
        timeseries("Comments, likes, shares", kpis("comments", "likes", "shares",
                                                    "negative_comments")),
        timeseries("Interaction and negative-comment share",
                   kpis("interaction_rate", "negative_comment_share"), unit="percentunit"),
        row("Conversion (轉化期)"),
        timeseries("Funnel rates", kpis("ctr", "cart_rate", "order_rate"), unit="percentunit",
                   desc="CTR = product clicks / exposures; cart rate = cart users / click "
                        "users; order rate = buyers / UV."),
        timeseries("GMV and ad spend", kpis("gmv", "ad_spend")),
        timeseries("Orders, buyers, refunds", kpis("orders", "buyers", "refunds"), w=8),
        timeseries("Product clicks and cart adds",
                   kpis("product_exposures", "product_clicks", "cart_adds"), w=8),
        timeseries("AOV, UV value, GPM", kpis("aov", "uv_value", "gpm"), w=8),
        row("Retention (維穩期)"),
        timeseries("Repurchase and private domain",
                   kpis("repurchase_rate_7d", "repurchase_rate_30d", "private_domain_share"),
                   unit="percentunit"),
        timeseries("Private-domain joins", kpis("private_domain_joins")),
        row("Products"),
        table("Top products of the room", prod_cols, ["room", "product"], h=10,
              links={"product": product_link}, sort_by="GMV",
              desc="The worker exports the top-N products by clicks only."),
    ])


def products() -> dict:
    room = variable("room", "Rooms", 'label_values(roompulse_product_kpi{window="$window"}, room)',
                    multi=True, include_all=True)
    product = variable("product", "Products",
                       'label_values(roompulse_product_kpi{window="$window", room=~"$room"}, '
                       'product)', multi=True, include_all=True)
    cols = [(h, product_kpi(k), unit_of(k)) for h, k in PRODUCT_COLUMNS]

    def by_product(k: str) -> list[tuple[str, str]]:
        return [(product_kpi(k), "{{room}} / {{product}}")]

    cart_change = (f"{product_kpi('cart_rate')} / ({product_kpi('cart_rate', offset='5m')} > 0)"
                   " - 1")
    return dashboard("roompulse-products", "roompulse / Products",
                     "Per-product KPIs (the top-N products by clicks of every room).",
                     [WINDOW, room, product], [
        table("Products", cols, ["room", "product"], h=11, sort_by="GMV"),
        timeseries("CTR", by_product("ctr"), unit="percentunit"),
        timeseries("Cart rate", by_product("cart_rate"), unit="percentunit"),
        timeseries("Cart-rate change vs 5 minutes earlier",
                   [(cart_change, "{{room}} / {{product}}")], unit="percentunit",
                   desc="Seed playbook: a jump of +30% means the host should keep presenting "
                        "the product and operations should add stock."),
        timeseries("Order rate", by_product("order_rate"), unit="percentunit",
                   desc="Buyers / click users. High CTR with a low order rate: review price, "
                        "description or presentation."),
        timeseries("GMV", by_product("gmv")),
        timeseries("Clicks", by_product("product_clicks")),
        timeseries("Top 10 products by GMV", [(
            f"topk(10, {product_kpi('gmv')})", "{{room}} / {{product}}")], w=24),
    ])


def pipeline_health() -> dict:
    job = 'job="roompulse-worker"'
    ri = "$__rate_interval"

    def quant(m: str, q: float) -> tuple[str, str]:
        return (f"histogram_quantile({q}, sum by (le) (rate({m}_bucket[{ri}])))",
                f"p{round(q * 100)}")

    return dashboard("roompulse-pipeline", "roompulse / Pipeline health",
                     "Worker throughput, lag, dead letters, Redis applies and alerts.", [], [
        stat("Workers up", f"sum(up{{{job}}})", thresholds=[(None, "red"), (1, "green")]),
        stat("Events/s", "sum(rate(roompulse_worker_events_total[$__rate_interval]))"),
        stat("Consumer lag", "sum(roompulse_worker_consumer_lag)",
             thresholds=[(None, "green"), (10000, "orange"), (100000, "red")]),
        stat("Dead-letter ratio", "max(job:roompulse_worker_dead_letter_ratio:rate5m)",
             unit="percentunit", thresholds=[(None, "green"), (0.01, "orange"), (0.1, "red")]),
        stat("Redis up", "min(roompulse_worker_redis_up)",
             thresholds=[(None, "red"), (1, "green")], decimals=0),
        stat("Since last apply", "max(roompulse_worker_seconds_since_last_apply)", unit="s",
             thresholds=[(None, "green"), (180, "red")]),
        row("Throughput"),
        timeseries("Events/s by type",
                   [(f"sum by (type) (rate(roompulse_worker_events_total[{ri}]))", "{{type}}")],
                   stack=True),
        timeseries("Consumed, processed, dead-lettered /s", [
            (f"sum(rate(roompulse_worker_consumed_total[{ri}]))", "consumed"),
            (f"sum(rate(roompulse_worker_processed_total[{ri}]))", "processed"),
            (f"sum(rate(roompulse_worker_dead_lettered_total[{ri}]))", "dead-lettered"),
            (f"sum(rate(roompulse_worker_duplicates_total[{ri}]))", "duplicates"),
            (f"sum(rate(roompulse_worker_rewarmed_total[{ri}]))", "re-read (rewarm)")]),
        timeseries("Dead letters/s by reason",
                   [(f"sum by (reason) (rate(roompulse_worker_dead_letters_total[{ri}]))",
                     "{{reason}}")], stack=True),
        timeseries("Batch size (mean) and batches/s", [
            ((f"sum(rate(roompulse_worker_batch_size_sum[{ri}])) / "
              f"sum(rate(roompulse_worker_batch_size_count[{ri}]))"), "messages/batch"),
            (f"sum(rate(roompulse_worker_batch_size_count[{ri}]))", "batches/s")]),
        row("Lag and freshness"),
        timeseries("Consumer lag by partition", [
            ("sum by (topic, partition) (roompulse_worker_consumer_lag)",
             "{{topic}}/{{partition}}")], stack=True,
                   desc="Highwater minus position, set after each applied batch."),
        timeseries("Event-time lag and seconds since last apply", [
            ("roompulse_worker_event_time_lag_seconds", "event lag {{instance}}"),
            ("roompulse_worker_seconds_since_last_apply", "since apply {{instance}}")],
                   unit="s"),
        row("Redis"),
        timeseries("Redis apply latency", [quant("roompulse_worker_redis_apply_seconds", q)
                                           for q in (0.5, 0.9, 0.99)], unit="s", w=8),
        timeseries("Batch processing time", [quant("roompulse_worker_batch_seconds", q)
                                             for q in (0.5, 0.99)], unit="s", w=8),
        timeseries("Redis and Kafka up by worker", [
            ("roompulse_worker_redis_up", "redis {{instance}}"),
            ("roompulse_worker_kafka_up", "kafka {{instance}}")], w=8),
        row("Scrapes and alerts"),
        timeseries("Scrape duration (includes the KPI refresh from Redis)",
                   [(f"scrape_duration_seconds{{{job}}}", "{{instance}}")], unit="s"),
        timeseries("Pipeline alerts firing (Prometheus rules)", [(
            'count by (alertname) (ALERTS{alertstate="firing", alertname=~"Roompulse.*"})',
            "{{alertname}}")], stack=True, desc="Rules in deploy/prometheus/rules/alerts.yml."),
        row("Alert engine"),
        timeseries("Alert evaluation time", [quant("roompulse_alert_evaluation_seconds", q)
                                             for q in (0.5, 0.99)], unit="s", w=8,
                   desc="One evaluation of every rule over every room."),
        timeseries("Alert series by state", [
            ("sum by (state) (roompulse_alert_series)", "{{state}}")], w=8),
        timeseries("Room alerts firing by severity", [(
            'sum by (severity) (roompulse_alerts{state="firing"})', "{{severity}}")], w=8,
                   stack=True),
        timeseries("Sink deliveries/s", [(
            f"sum by (sink, outcome) (rate(roompulse_alert_sink_deliveries_total[{ri}]))",
            "{{sink}} {{outcome}}")], w=8),
        timeseries("Notifications dropped/s", [(
            f"sum by (reason) (rate(roompulse_alert_notifications_dropped_total[{ri}]))",
            "{{reason}}")], w=8, desc="Inhibited, silenced or rate-limited."),
        timeseries("Alert config files valid", [(
            "min by (kind, file) (roompulse_alert_config_valid)", "{{kind}} {{file}}")], w=8,
                   desc="0: the last reload was rejected; the previous version still runs."),
        timeseries("Host nudges/s", [
            (f"sum by (outcome) (rate(roompulse_nudge_decisions_total[{ri}]))", "{{outcome}}"),
            (f"sum(rate(roompulse_nudge_failures_total[{ri}]))", "failed")], w=8),
    ])


DASHBOARDS = {"rooms-overview": rooms_overview, "room-detail": room_detail,
              "products": products, "pipeline-health": pipeline_health}


def render() -> dict[str, str]:
    return {f"{name}.json": json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
            for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in render().items():
        path = OUT / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale dashboards: {', '.join(stale)}; run python deploy/grafana/build.py",
              file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
