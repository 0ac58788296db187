"""Grafana JSON building blocks for the roompulse dashboards (stdlib only; used by build.py)."""

from __future__ import annotations

# The datasource of provisioning/datasources/prometheus.yml, by uid.
DS = {"type": "prometheus", "uid": "roompulse-prometheus"}
KPI_RATES = ("entry_rate", "interaction_rate", "ctr", "cart_rate", "order_rate",
             "private_domain_share", "repurchase_rate_7d", "repurchase_rate_30d",
             "negative_comment_share")


def room_kpi(kpi: str, room: str = '=~"$room"', by: str = "room") -> str:
    """One room KPI, de-duplicated across workers (every worker exports every room).
    `room` is the matcher's operator and value, e.g. '="$room"' for a single room."""
    return (f'max by ({by}) (roompulse_room_kpi{{room{room}, window="$window", '
            f'kpi="{kpi}"}})')


def product_kpi(kpi: str, room: str = '=~"$room"', product: str = '=~"$product"',
                offset: str = "") -> str:
    """One product KPI; `product=""` reads every (top-N) product of the room."""
    match = f", product{product}" if product else ""
    at = f" offset {offset}" if offset else ""
    return (f'max by (room, product) (roompulse_product_kpi{{room{room}{match}, '
            f'window="$window", kpi="{kpi}"}}{at})')


def unit_of(kpi: str) -> str:
    if kpi in KPI_RATES:
        return "percentunit"
    if kpi.endswith("_ms"):
        return "ms"
    return "short"


def target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> dict:
    t = {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant}
    if instant:
        t["format"] = "table"
    return t


def _panel(kind: str, title: str, targets: list[dict], w: int, h: int, desc: str,
           unit: str, **extra) -> dict:
    p = {"type": kind, "title": title, "description": desc, "datasource": DS,
         "gridPos": {"w": w, "h": h}, "targets": targets,
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}}
    p.update(extra)
    return p


def timeseries(title: str, exprs: list[tuple[str, str]], *, unit: str = "short", w: int = 12,
               h: int = 8, desc: str = "", stack: bool = False) -> dict:
    """`exprs`: (PromQL, legend) pairs."""
    targets = [target(e, legend, ref=chr(65 + i)) for i, (e, legend) in enumerate(exprs)]
    p = _panel("timeseries", title, targets, w, h, desc, unit, options={
        "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                   "calcs": ["lastNotNull", "max"]},
        "tooltip": {"mode": "multi", "sort": "desc"}})
    custom = {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    p["fieldConfig"]["defaults"]["custom"] = custom
    return p


def stat(title: str, expr: str, *, unit: str = "short", w: int = 4, h: int = 4, desc: str = "",
         thresholds: list[tuple[float | None, str]] | None = None, decimals: int | None = None
         ) -> dict:
    p = _panel("stat", title, [target(expr)], w, h, desc, unit, options={
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value", "graphMode": "area", "textMode": "auto", "justifyMode": "auto"})
    steps = [{"color": c, "value": v} for v, c in (thresholds or [(None, "blue")])]
    p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": steps}
    if decimals is not None:
        p["fieldConfig"]["defaults"]["decimals"] = decimals
    return p


def table(title: str, columns: list[tuple[str, str, str]], keys: list[str], *, w: int = 24,
          h: int = 10, desc: str = "", links: dict[str, str] | None = None,
          sort_by: str | None = None) -> dict:
    """One instant query per column, merged on `keys`. `columns`: (header, PromQL, unit).
    `links`: key column -> URL (Grafana data-link syntax)."""
    targets = [target(e, instant=True, ref=chr(65 + i)) for i, (_, e, _) in enumerate(columns)]
    # Grafana names the value column "Value" for one query, "Value #<refId>" for several.
    values = ([f"Value #{chr(65 + i)}" for i in range(len(columns))] if len(columns) > 1
              else ["Value"])
    rename = {v: header for v, (header, _, _) in zip(values, columns, strict=True)}
    order = {k: i for i, k in enumerate(keys)}
    order.update({v: len(keys) + i for i, v in enumerate(values)})
    overrides = [{"matcher": {"id": "byName", "options": header},
                  "properties": [{"id": "unit", "value": unit}]}
                 for header, _, unit in columns]
    for key, url in (links or {}).items():
        overrides.append({"matcher": {"id": "byName", "options": key}, "properties": [
            {"id": "links", "value": [{"title": f"open {key}", "url": url}]}]})
    p = _panel("table", title, targets, w, h, desc, "short", options={
        "showHeader": True, "cellHeight": "sm",
        "sortBy": [{"displayName": sort_by, "desc": True}] if sort_by else []},
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True},
                                           "indexByName": order, "renameByName": rename}}])
    p["fieldConfig"]["overrides"] = overrides
    return p


def text(title: str, content: str, *, w: int = 24, h: int = 3) -> dict:
    return {"type": "text", "title": title, "gridPos": {"w": w, "h": h},
            "options": {"mode": "markdown", "content": content}}


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"w": 24, "h": 1}}


def variable(name: str, label: str, query: str, *, multi: bool = False,
             include_all: bool = False) -> dict:
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": query, "definition": query,
         "refresh": 2, "sort": 1, "multi": multi, "includeAll": include_all, "options": [],
         "current": {}, "hide": 0}
    if include_all:
        v["allValue"] = ".*"
    return v


def layout(panels: list[dict]) -> list[dict]:
    """Left-to-right, top-to-bottom placement on Grafana's 24-column grid; ids from 1."""
    x = y = line_h = 0
    for i, p in enumerate(panels, start=1):
        g = p["gridPos"]
        if p["type"] == "row" or x + g["w"] > 24:
            x, y, line_h = 0, y + line_h, 0
        g["x"], g["y"] = x, y
        p["id"] = i
        x += g["w"]
        line_h = max(line_h, g["h"])
        if p["type"] == "row":
            x, y, line_h = 0, y + 1, 0
    return panels


def dashboard(uid: str, title: str, description: str, variables: list[dict],
              panels: list[dict], *, time_from: str = "now-1h") -> dict:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["roompulse"],
        "editable": True, "graphTooltip": 1, "refresh": "15s", "schemaVersion": 39,
        "version": 1, "timezone": "browser", "time": {"from": time_from, "to": "now"},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["roompulse"], "asDropdown": True,
                   "title": "roompulse", "includeVars": True, "keepTime": True}],
        "templating": {"list": variables}, "panels": layout(panels),
    }
