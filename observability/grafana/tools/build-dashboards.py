#!/usr/bin/env python3
"""Renders the Grafana dashboards of the link shortener into observability/grafana/dashboards/.

    python3 observability/grafana/tools/build-dashboards.py          # write the JSON files
    python3 observability/grafana/tools/build-dashboards.py --check  # exit 1 if a file is stale

The JSON files are the provisioned artefact (Grafana's classic dashboard model, migrated by
Grafana 13 on load); this script is their source, so panel ids, the grid, the data source uid
and the runbook links stay consistent. Edit the definitions below, never the JSON.
Python 3 standard library only.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "observability/grafana/dashboards/shortener"

# The uid fixed in observability/grafana/provisioning/datasources/datasources.yaml.
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
# Where docs/runbooks/ is browsable. One place: every panel link is ${runbooks}/<page>.md, and the
# variable can be overridden per link with ?var-runbooks=... (a fork, a mirror).
RUNBOOKS_URL = "https://github.com/OWNER/REPO/blob/main/docs/runbooks"
RATE = "$__rate_interval"
SCHEMA_VERSION = 42


# --- Building blocks ----------------------------------------------------------------------------

def target(expr, legend="", exemplar=False, instant=False):
    return {"expr": expr, "legend": legend, "exemplar": exemplar, "instant": instant}


def runbook(page, title=None):
    return {"title": title or f"Runbook: {page.removesuffix('.md')}", "url": f"${{runbooks}}/{page}",
            "targetBlank": True}


def thresholds(*steps):
    """steps: (value, color) pairs after the base colour, e.g. thresholds("green", (0.8, "red"))."""
    base, rest = steps[0], steps[1:]
    return {"mode": "absolute",
            "steps": [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in rest]}


def timeseries(title, targets, unit="short", description="", w=12, h=8, links=(), stack=False,
               min_=None, max_=None, threshold_steps=None, fill=10, x=None, decimals=None):
    custom = {
        "drawStyle": "line", "lineWidth": 1, "fillOpacity": fill, "gradientMode": "none",
        "showPoints": "never", "spanNulls": False, "axisPlacement": "auto",
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "dashed" if threshold_steps else "off"},
    }
    defaults = {"unit": unit, "color": {"mode": "palette-classic"}, "custom": custom,
                "thresholds": threshold_steps or thresholds("green")}
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "timeseries", "title": title, "description": description, "targets": targets,
        "links": list(links), "w": w, "h": h, "x": x,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def stat(title, expr, unit="short", description="", w=4, h=4, links=(), steps=None, mappings=None,
         decimals=None, graph=True, x=None, legend=""):
    defaults = {"unit": unit, "color": {"mode": "thresholds"},
                "thresholds": steps or thresholds("green"), "mappings": mappings or []}
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat", "title": title, "description": description, "targets": [target(expr, legend)],
        "links": list(links), "w": w, "h": h, "x": x,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "area" if graph else "none", "justifyMode": "auto",
                    "orientation": "auto", "textMode": "auto", "wideLayout": True,
                    "showPercentChange": False},
    }


UP_DOWN = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red", "index": 0},
                                          "1": {"text": "UP", "color": "green", "index": 1}}}]


def row(title, panels, collapsed=False):
    return {"type": "row", "title": title, "collapsed": collapsed, "children": panels}


def query_var(name, label, query, default=None, multi=False, include_all=False, hide=0):
    current = ({"text": "All", "value": "$__all"} if include_all and default is None
               else {"text": default or "", "value": default or ""})
    return {"name": name, "label": label, "type": "query", "datasource": PROMETHEUS,
            "definition": query, "query": query, "refresh": 2, "regex": "", "sort": 1,
            "multi": multi, "includeAll": include_all, "current": current, "options": [], "hide": hide}


def runbooks_var():
    return {"name": "runbooks", "label": "Runbooks", "type": "textbox", "hide": 2, "query": RUNBOOKS_URL,
            "current": {"text": RUNBOOKS_URL, "value": RUNBOOKS_URL},
            "options": [{"selected": True, "text": RUNBOOKS_URL, "value": RUNBOOKS_URL}]}


class Grid:
    """Grafana-style gravity: each panel drops to the lowest free spot of the columns it spans."""

    def __init__(self):
        self.heights = [0] * 24
        self.cursor = 0

    def place(self, w, h, x=None):
        if x is None:
            x = self.cursor if self.cursor + w <= 24 else 0
        y = max(self.heights[x:x + w])
        for col in range(x, x + w):
            self.heights[col] = y + h
        self.cursor = (x + w) % 24
        return {"h": h, "w": w, "x": x, "y": y}

    def full_width(self, h):
        y = max(self.heights)
        self.heights = [y + h] * 24
        self.cursor = 0
        return {"h": h, "w": 24, "x": 0, "y": y}


def render_panel(spec, grid, ids):
    panel = {"id": next(ids), "type": spec["type"], "title": spec["title"], "description": spec["description"],
             "datasource": PROMETHEUS, "gridPos": grid.place(spec["w"], spec["h"], spec["x"]),
             "targets": [], "fieldConfig": spec["fieldConfig"], "options": spec["options"]}
    if spec["links"]:
        panel["links"] = spec["links"]
    for ref, t in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", spec["targets"]):
        panel["targets"].append({"refId": ref, "datasource": PROMETHEUS, "editorMode": "code", "expr": t["expr"],
                                 "legendFormat": t["legend"], "range": not t["instant"], "instant": t["instant"],
                                 "exemplar": t["exemplar"]})
    return panel


def dashboard(uid, title, tags, description, variables, sections):
    grid, counter = Grid(), iter(range(1, 1000))
    panels = []
    for section in sections:
        if section["type"] != "row":
            panels.append(render_panel(section, grid, counter))
            continue
        row_panel = {"id": next(counter), "type": "row", "title": section["title"],
                     "collapsed": section["collapsed"], "gridPos": grid.full_width(1), "panels": []}
        panels.append(row_panel)
        children = [render_panel(child, grid, counter) for child in section["children"]]
        if section["collapsed"]:
            # Collapsed rows carry their panels; what follows starts right below the row header.
            row_panel["panels"] = children
            grid.heights = [row_panel["gridPos"]["y"] + 1] * 24
            grid.cursor = 0
        else:
            panels.extend(children)
    return {
        "uid": uid, "title": title, "tags": tags, "description": description,
        "editable": False, "graphTooltip": 1, "timezone": "browser", "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"}, "fiscalYearStartMonth": 0, "liveNow": False,
        "schemaVersion": SCHEMA_VERSION, "version": 1,
        "links": [{"title": "Shortener dashboards", "type": "dashboards", "tags": ["shortener"], "asDropdown": True,
                   "includeVars": False, "keepTime": True, "targetBlank": False, "icon": "external link",
                   "tooltip": "", "url": ""}],
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
             "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
            {"datasource": PROMETHEUS, "enable": True, "hide": False, "iconColor": "red", "name": "Firing alerts",
             "expr": 'ALERTS{alertstate="firing"}', "step": "60s", "titleFormat": "{{alertname}}",
             "tagKeys": "severity,slo", "textFormat": "{{alertname}} ({{severity}})", "useValueForTime": False},
        ]},
        "templating": {"list": variables + [runbooks_var()]},
        "panels": panels,
    }


def quantiles(metric, selector, by="", legend_prefix=""):
    group = f"le, {by}" if by else "le"
    return [target(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{selector}}}[{RATE}])))",
                   f"{legend_prefix}p{int(q * 100)}", exemplar=True) for q in (0.5, 0.95, 0.99)]


def ratio_or_zero(numerator, denominator, by):
    """numerator / denominator per `by`, 0 where the numerator has no series yet (no error counted)."""
    return f"(sum by ({by}) ({numerator}) or 0 * sum by ({by}) ({denominator})) / sum by ({by}) ({denominator})"


def dotnet_runtime(sel):
    return row(".NET runtime", [
        timeseries("CPU", [target(f"sum by (instance) (rate(dotnet_process_cpu_time_seconds_total{{{sel}}}[{RATE}]))",
                                  "{{instance}}")], unit="short", w=8,
                   description="CPU seconds per second (1 = one core busy), user plus system."),
        timeseries("Working set", [target(f"sum by (instance) (dotnet_process_memory_working_set_bytes{{{sel}}})",
                                          "{{instance}}")], unit="bytes", w=8,
                   description="Physical memory of the process; compare with the container limit "
                               "(Host and containers)."),
        timeseries("GC heap after last collection", [
            target(f"sum by (instance) (dotnet_gc_last_collection_heap_size_bytes{{{sel}}})", "{{instance}}")],
            unit="bytes", w=8),
        timeseries("GC collections by generation", [
            target(f"sum by (gc_heap_generation) (rate(dotnet_gc_collections_total{{{sel}}}[{RATE}]))",
                   "{{gc_heap_generation}}")], unit="suffix:/s", w=8,
            description="Frequent gen2 collections mean long-lived allocations or memory pressure."),
        timeseries("Time paused by GC", [
            target(f"sum by (instance) (rate(dotnet_gc_pause_time_seconds_total{{{sel}}}[{RATE}]))", "{{instance}}")],
            unit="percentunit", w=8, min_=0,
            description="Share of wall-clock time the runtime was paused for garbage collection."),
        timeseries("Thread pool", [
            target(f"sum by (instance) (dotnet_thread_pool_thread_count_total{{{sel}}})", "threads {{instance}}"),
            target(f"sum by (instance) (dotnet_thread_pool_queue_length_total{{{sel}}})", "queued {{instance}}"),
        ], w=8, description="A growing queue with a flat thread count is thread-pool starvation (blocking calls)."),
    ], collapsed=True)


# --- API ----------------------------------------------------------------------------------------

def api():
    sel = 'job=~"$job", instance=~"$instance"'
    hsel = sel + ', http_route=~"$route"'
    count = "http_server_request_duration_seconds_count"
    bucket = "http_server_request_duration_seconds_bucket"
    req = f"rate({count}{{{hsel}}}[{RATE}])"
    err5 = f'rate({count}{{{hsel}, http_response_status_code=~"5.."}}[{RATE}])'
    err4 = f'rate({count}{{{hsel}, http_response_status_code=~"4.."}}[{RATE}])'

    def slo_row(slo, name, objective_text, runbook_page, extra):
        sli = f'slo:sli_error:ratio_rate{{window}}{{{{slo="{slo}"}}}}'
        objective = f'last_over_time(slo:objective:ratio{{slo="{slo}"}}[10m])'
        burn = [target(f'{sli.format(window=w)} / on (slo, service) (1 - {objective})', f"{w} window")
                for w in ("5m", "1h", "6h", "1d", "3d")]
        return row(f"SLO: {name} ({objective_text})", [
            timeseries(f"{name.capitalize()} SLI vs objective", [
                target(f"1 - {sli.format(window='5m')}", "SLI over 5m"),
                target(f"1 - {sli.format(window='1h')}", "SLI over 1h"),
                target(objective, "objective"),
            ], unit="percentunit", w=9, decimals=2, links=[runbook(runbook_page)],
                description=f"Good requests over all requests ({objective_text}), from the recording rules "
                            "in observability/prometheus/rules/slo-*.yml. Below the objective line the error "
                            "budget is being spent faster than it accrues."),
            timeseries("Burn rate", burn, unit="short", w=9, min_=0, links=[runbook(runbook_page)],
                       threshold_steps=thresholds("green", (1, "yellow"), (3, "orange"), (6, "red"),
                                                  (14.4, "dark-red")),
                       description="Error ratio divided by the error budget (1 = spending exactly the 30-day "
                                   "budget). SLOErrorBudgetBurn pages at 14.4 (1h and 5m) or 6 (6h and 30m) and "
                                   "tickets at 3 (1d and 2h) or 1 (3d and 6h): dashed lines."),
            stat("Error budget left (30d)",
                 f'last_over_time(slo:error_budget:remaining_ratio{{slo="{slo}"}}[10m])', unit="percentunit",
                 w=6, decimals=1, links=[runbook(runbook_page)],
                 steps=thresholds("red", (0.1, "orange"), (0.5, "green")),
                 description="1 = untouched, 0 = spent, negative = SLO missed. SLOErrorBudgetNearlySpent "
                             "tickets below 10%. Recorded every 5 minutes."),
            stat("SLI over 30 days", f'1 - last_over_time(slo:sli_error:ratio_rate30d{{slo="{slo}"}}[10m])',
                 unit="percentunit", w=6, x=18, decimals=3,
                 description="Over the whole window (or whatever Prometheus has stored if less)."),
        ] + extra)

    slow_by_route = timeseries("Requests over 300 ms by route", [target(
        f"(sum by (http_route) ({req}) - sum by (http_route) (rate({bucket}{{{hsel}, le=\"0.3\"}}[{RATE}])))"
        f" / sum by (http_route) ({req})", "{{http_route}}")], unit="percentunit", w=24, h=7, min_=0,
        threshold_steps=thresholds("green", (0.05, "red")),
        description="Share of requests that missed the latency threshold, per route: where the latency budget goes.")

    return dashboard(
        "shortener-api", "Shortener / API", ["shortener", "api", "slo"],
        "RED metrics and SLOs of the link shortener API (ASP.NET Core, OpenTelemetry metrics on /metrics).",
        [query_var("job", "Job", f"label_values({count}, job)", default="api"),
         query_var("instance", "Instance", f'label_values({count}{{job=~"$job"}}, instance)', multi=True,
                   include_all=True),
         query_var("route", "Route", f'label_values({count}{{job=~"$job"}}, http_route)', multi=True,
                   include_all=True)],
        [
            stat("Requests", f"sum({req})", unit="reqps"),
            stat("Server errors (5xx)", f"(sum({err5}) or vector(0)) / sum({req})", unit="percentunit", decimals=2,
                 steps=thresholds("green", (0.001, "orange"), (0.01, "red")),
                 description="Share of requests answered 5xx over the last rate interval; the availability SLO "
                             "allows 1% over 30 days."),
            stat("p95 latency",
                 f"histogram_quantile(0.95, sum by (le) (rate({bucket}{{{hsel}}}[{RATE}])))", unit="s",
                 steps=thresholds("green", (0.3, "red")),
                 description="Interpolated within buckets; the latency SLO counts requests under 300 ms exactly."),
            stat("Availability budget left",
                 'last_over_time(slo:error_budget:remaining_ratio{slo="api-availability"}[10m])',
                 unit="percentunit", decimals=1, steps=thresholds("red", (0.1, "orange"), (0.5, "green")),
                 links=[runbook("slo-api-availability.md")]),
            stat("Latency budget left", 'last_over_time(slo:error_budget:remaining_ratio{slo="api-latency"}[10m])',
                 unit="percentunit", decimals=1, steps=thresholds("red", (0.1, "orange"), (0.5, "green")),
                 links=[runbook("slo-api-latency.md")]),
            stat("Instances up", f"sum(up{{{sel}}})", steps=thresholds("red", (1, "green")), graph=False,
                 links=[runbook("target-down.md")],
                 description="Scrapes that succeeded; compare with the expected replicas (1 locally, 2 in compose)."),
            row("Requests, errors, duration", [
                timeseries("Request rate by route", [target(
                    f"sum by (http_request_method, http_route) ({req})", "{{http_request_method}} {{http_route}}")],
                    unit="reqps"),
                timeseries("Request rate by status", [target(
                    f"sum by (http_response_status_code) ({req})", "{{http_response_status_code}}")],
                    unit="reqps", stack=True),
                timeseries("Error ratio", [
                    target(f"(sum({err5}) or vector(0)) / sum({req})", "5xx"),
                    target(f"(sum({err4}) or vector(0)) / sum({req})", "4xx"),
                ], unit="percentunit", min_=0, threshold_steps=thresholds("green", (0.01, "red")),
                    links=[runbook("slo-api-availability.md")],
                    description="5xx count against the availability SLO (dashed: 1%). 4xx are client errors "
                                "(unknown codes, validation, rate limits) and are not SLO errors."),
                timeseries("Server error ratio by route", [target(
                    ratio_or_zero(err5, req, "http_route"), "{{http_route}}")],
                    unit="percentunit", min_=0, threshold_steps=thresholds("green", (0.01, "red"))),
                timeseries("Latency", quantiles("http_server_request_duration_seconds", hsel), unit="s", min_=0,
                           threshold_steps=thresholds("green", (0.3, "red")), links=[runbook("slo-api-latency.md")],
                           description="Quantiles across all selected routes. Exemplars (dots) open the trace in "
                                       "Tempo; dashed: the 300 ms SLO threshold."),
                timeseries("p95 latency by route", [target(
                    f"histogram_quantile(0.95, sum by (le, http_route) (rate({bucket}{{{hsel}}}[{RATE}])))",
                    "{{http_route}}", exemplar=True)], unit="s", min_=0,
                    threshold_steps=thresholds("green", (0.3, "red"))),
                timeseries("Requests in flight", [target(
                    f"sum by (instance) (http_server_active_requests{{{sel}}})", "{{instance}}")], w=8),
                timeseries("Kestrel connections", [
                    target(f"sum by (instance) (kestrel_active_connections{{{sel}}})", "active {{instance}}"),
                    target(f"sum by (instance) (kestrel_queued_connections{{{sel}}})", "queued {{instance}}"),
                ], w=8, description="Queued connections wait for Kestrel to accept them: the process is saturated."),
                timeseries("Rate limiter decisions", [target(
                    f"sum by (aspnetcore_rate_limiting_policy, aspnetcore_rate_limiting_result) "
                    f"(rate(aspnetcore_rate_limiting_requests_total{{{sel}}}[{RATE}]))",
                    "{{aspnetcore_rate_limiting_policy}} {{aspnetcore_rate_limiting_result}}")],
                    unit="reqps", w=8,
                    description="Requests that got (acquired) or were refused (rejected) a lease by the API's own "
                                "rate limiting policies."),
            ]),
            slo_row("api-availability", "availability", "99% of requests without a 5xx over 30 days",
                    "slo-api-availability.md", []),
            slo_row("api-latency", "latency", "95% of requests under 300 ms over 30 days", "slo-api-latency.md",
                    [slow_by_route]),
            row("Redirects and clicks", [
                timeseries("Redirects by result and cache tier", [target(
                    f"sum by (result, tier) (rate(shortener_redirects_total{{{sel}}}[{RATE}]))",
                    "{{result}} via {{tier}}")], unit="reqps",
                    description="Which cache tier answered each lookup: memory, Redis, or PostgreSQL (database)."),
                timeseries("Lookups answered by each tier", [target(
                    f"sum by (tier) (rate(shortener_redirects_total{{{sel}}}[{RATE}])) / ignoring (tier) group_left "
                    f"sum(rate(shortener_redirects_total{{{sel}}}[{RATE}]))", "{{tier}}")],
                    unit="percentunit", stack=True, min_=0, max_=1, fill=30,
                    description="A rising database share means the caches are cold or Redis is failing."),
                timeseries("Click pipeline (API side)", [
                    target(f"sum(rate(shortener_clicks_enqueued_total{{{sel}}}[{RATE}]))", "enqueued"),
                    target(f"sum(rate(shortener_clicks_published_total{{{sel}}}[{RATE}]))", "published to Redis"),
                    target(f"sum(rate(shortener_clicks_dropped_total{{{sel}}}[{RATE}]))", "dropped"),
                ], unit="suffix:/s", w=8, links=[runbook("clicks-dropped.md")],
                    description="Every redirect enqueues a click in memory; a background publisher writes them to "
                                "the Redis stream. Dropped clicks are lost for good (ClicksDropped pages)."),
                timeseries("Click buffer depth", [target(
                    f"sum by (instance) (shortener_clicks_buffered{{{sel}}})", "{{instance}}")], w=8,
                    links=[runbook("clicks-dropped.md")],
                    description="Clicks waiting in memory; it grows when Redis is slow or down and drops at capacity."),
                timeseries("Redis failures degraded around", [target(
                    f"sum by (operation) (rate(shortener_redis_failures_total{{{sel}}}[{RATE}]))", "{{operation}}")],
                    unit="suffix:/s", w=8, links=[runbook("redis.md")],
                    description="Redis calls that failed and were served another way (memory, PostgreSQL, retry)."),
                timeseries("Links created", [target(
                    f"sum(rate(shortener_links_created_total{{{sel}}}[{RATE}]))", "links")], unit="suffix:/s",
                    w=24, h=6),
            ]),
            dotnet_runtime(sel),
        ])


# --- Worker -------------------------------------------------------------------------------------

def worker():
    sel = 'job=~"$job", instance=~"$instance"'
    stream = 'job=~"$job"'

    def rate_of(metric):
        return f"sum(rate({metric}{{{sel}}}[{RATE}]))"

    return dashboard(
        "shortener-worker", "Shortener / Worker and click stream", ["shortener", "worker", "redis"],
        "The click aggregator: it reads the Redis stream `clicks` (consumer group `aggregator`) and counts "
        "clicks into PostgreSQL. Stream gauges are stream-wide: every replica reports the same value.",
        [query_var("job", "Job", "label_values(shortener_clickstream_lag, job)", default="worker"),
         query_var("instance", "Instance", 'label_values(shortener_clickstream_lag{job=~"$job"}, instance)',
                   multi=True, include_all=True)],
        [
            stat("Lag", f"max(shortener_clickstream_lag{{{stream}}})", links=[runbook("click-lag.md")],
                 steps=thresholds("green", (1000, "orange"), (10000, "red")),
                 description="Pending plus undelivered entries. ClickLagGrowing tickets above 10000 and growing."),
            stat("Pending", f"max(shortener_clickstream_pending{{{stream}}})",
                 description="Delivered to a consumer, not yet acknowledged."),
            stat("Undelivered", f"max(shortener_clickstream_undelivered{{{stream}}})",
                 description="Not yet read by any consumer."),
            stat("Dead letters", f"max(shortener_clickstream_dead_letters{{{stream}}})",
                 steps=thresholds("green", (1, "red")), links=[runbook("click-dead-letters.md")],
                 description="Entries in clicks:dead (malformed, delivered too often). ClickDeadLetters tickets."),
            stat("Clicks counted", rate_of("shortener_clicks_processed_total"), unit="suffix:/s"),
            stat("Workers up", f"sum(up{{{sel}}})", steps=thresholds("red", (1, "green")), graph=False,
                 links=[runbook("target-down.md")]),
            row("Stream and throughput", [
                timeseries("Backlog", [
                    target(f"max(shortener_clickstream_lag{{{stream}}})", "lag (pending + undelivered)"),
                    target(f"max(shortener_clickstream_pending{{{stream}}})", "pending"),
                    target(f"max(shortener_clickstream_undelivered{{{stream}}})", "undelivered"),
                ], links=[runbook("click-lag.md")], min_=0,
                    threshold_steps=thresholds("green", (10000, "red")),
                    description="A lag that keeps growing means the worker cannot keep up (or is failing): stats "
                                "are stale and Redis memory grows."),
                timeseries("Clicks in and out", [
                    target(f"sum(rate(shortener_clicks_published_total[{RATE}]))", "published by the API"),
                    target(rate_of("shortener_clicks_processed_total"), "counted"),
                    target(rate_of("shortener_clicks_duplicates_total"), "duplicates skipped"),
                    target(rate_of("shortener_clicks_reclaimed_total"), "reclaimed"),
                    target(rate_of("shortener_clicks_dead_lettered_total"), "dead-lettered"),
                ], unit="suffix:/s",
                    description="In steady state counted follows published. Duplicates are redeliveries caught by "
                                "the idempotency ledger; reclaimed entries were abandoned by a dead consumer."),
                timeseries("Batch duration", quantiles("shortener_worker_batch_duration_seconds", sel), unit="s",
                           min_=0, description="Time to count and acknowledge one batch. Exemplars open the trace."),
                timeseries("Batches and batch size", [
                    target(f"sum(rate(shortener_worker_batch_duration_seconds_count{{{sel}}}[{RATE}]))", "batches/s"),
                    target(f"{rate_of('shortener_clicks_processed_total')} / "
                           f"sum(rate(shortener_worker_batch_duration_seconds_count{{{sel}}}[{RATE}]))",
                           "clicks per batch"),
                ], description="Full batches (Aggregator:BatchSize) with a growing lag: add worker replicas."),
                timeseries("Dependency failures", [target(
                    f"sum by (dependency) (rate(shortener_worker_failures_total{{{sel}}}[{RATE}]))",
                    "{{dependency}}")], unit="suffix:/s",
                    links=[runbook("postgres.md"), runbook("redis.md")],
                    description="Failed PostgreSQL or Redis calls; the worker backs off and retries."),
                timeseries("Dead letters", [
                    target(f"max(shortener_clickstream_dead_letters{{{stream}}})", "in clicks:dead"),
                    target(f"sum(increase(shortener_clicks_dead_lettered_total{{{sel}}}[{RATE}]))",
                           "moved in the interval"),
                ], links=[runbook("click-dead-letters.md")], min_=0),
            ]),
            dotnet_runtime(sel),
        ])


# --- PostgreSQL ---------------------------------------------------------------------------------

def postgres():
    srv = 'instance=~"$instance"'
    db = srv + ', datname=~"$datname"'
    cli = 'job=~"$client_job"'

    def db_rate(metric):
        return f"sum(rate({metric}{{{db}}}[{RATE}]))"

    return dashboard(
        "shortener-postgres", "Shortener / PostgreSQL", ["shortener", "postgres"],
        "The server as postgres_exporter sees it, and the Npgsql connection pools of the API and the worker.",
        [query_var("instance", "Exporter", "label_values(pg_up, instance)", multi=True, include_all=True),
         query_var("datname", "Database", 'label_values(pg_database_size_bytes{instance=~"$instance"}, datname)',
                   default="shortener", multi=True),
         query_var("client_job", "Client", "label_values(db_client_connection_max, job)", multi=True,
                   include_all=True)],
        [
            stat("PostgreSQL", f"min(pg_up{{{srv}}})", mappings=UP_DOWN, steps=thresholds("red", (1, "green")),
                 graph=False, links=[runbook("postgres.md")],
                 description="pg_up: the exporter could connect and query. PostgresDown pages after 1 minute."),
            stat("Connections used",
                 f"sum(pg_stat_activity_count{{{srv}}}) / max(pg_settings_max_connections{{{srv}}})",
                 unit="percentunit", decimals=1, steps=thresholds("green", (0.6, "orange"), (0.8, "red")),
                 links=[runbook("postgres.md")], description="PostgresConnectionsNearMax tickets above 80%."),
            stat("Database size", f"sum(pg_database_size_bytes{{{db}}})", unit="bytes"),
            stat("Commits", db_rate("pg_stat_database_xact_commit"), unit="suffix:/s"),
            stat("Cache hit ratio",
                 f"{db_rate('pg_stat_database_blks_hit')} / "
                 f"({db_rate('pg_stat_database_blks_hit')} + {db_rate('pg_stat_database_blks_read')})",
                 unit="percentunit", decimals=2, steps=thresholds("orange", (0.95, "green")),
                 description="Blocks found in shared buffers; reads from disk (or the OS cache) otherwise."),
            stat("Client pool in use", f'max(sum by (job, instance) (db_client_connection_count{{{cli}, '
                                       f'db_client_connection_state="used"}}) / max by (job, instance) '
                                       f'(db_client_connection_max{{{cli}}}))',
                 unit="percentunit", decimals=1, steps=thresholds("green", (0.7, "orange"), (0.9, "red")),
                 links=[runbook("postgres.md")],
                 description="The fullest Npgsql pool. DatabasePoolSaturated tickets above 90% for 10 minutes."),
            row("Server", [
                timeseries("Connections by state", [
                    target(f"sum by (state) (pg_stat_activity_count{{{srv}}})", "{{state}}"),
                    target(f"max(pg_settings_max_connections{{{srv}}})", "max_connections"),
                ], links=[runbook("postgres.md")], min_=0,
                    description="Server-side backends by state against max_connections (reserved superuser slots "
                                "included)."),
                timeseries("Transactions", [
                    target(db_rate("pg_stat_database_xact_commit"), "commits"),
                    target(db_rate("pg_stat_database_xact_rollback"), "rollbacks"),
                ], unit="suffix:/s"),
                timeseries("Rows", [
                    target(db_rate("pg_stat_database_tup_fetched"), "fetched"),
                    target(db_rate("pg_stat_database_tup_inserted"), "inserted"),
                    target(db_rate("pg_stat_database_tup_updated"), "updated"),
                    target(db_rate("pg_stat_database_tup_deleted"), "deleted"),
                ], unit="suffix:/s", w=8),
                timeseries("Database size", [target(
                    f"sum by (datname) (pg_database_size_bytes{{{db}}})", "{{datname}}")], unit="bytes", w=8),
                timeseries("Locks by mode", [target(
                    f"sum by (mode) (pg_locks_count{{{db}}})", "{{mode}}")], w=8),
                timeseries("Deadlocks, conflicts and temp files", [
                    target(db_rate("pg_stat_database_deadlocks"), "deadlocks"),
                    target(db_rate("pg_stat_database_conflicts"), "conflicts"),
                    target(db_rate("pg_stat_database_temp_files"), "temp files"),
                ], unit="suffix:/s", w=12),
                timeseries("Longest transaction", [target(
                    f"max by (state) (pg_stat_activity_max_tx_duration{{{srv}}})", "{{state}}")], unit="s", w=12,
                    description="Long transactions hold locks and keep VACUUM from cleaning up."),
            ]),
            row("Npgsql client pools (API and worker)", [
                timeseries("Pool connections vs maximum", [
                    target(f"sum by (job, instance, db_client_connection_state) (db_client_connection_count{{{cli}}})",
                           "{{job}} {{instance}} {{db_client_connection_state}}"),
                    target(f"max by (job, instance) (db_client_connection_max{{{cli}}})", "{{job}} {{instance}} max"),
                ], links=[runbook("postgres.md")], min_=0,
                    description="Per process. Requests wait for a connection once used reaches the maximum "
                                "(Maximum Pool Size in the connection string)."),
                timeseries("Pool usage", [target(
                    f'sum by (job, instance) (db_client_connection_count{{{cli}, db_client_connection_state="used"}}) '
                    f"/ max by (job, instance) (db_client_connection_max{{{cli}}})", "{{job}} {{instance}}")],
                    unit="percentunit", min_=0, links=[runbook("postgres.md")],
                    threshold_steps=thresholds("green", (0.9, "red"))),
                timeseries("Query duration", quantiles("db_client_operation_duration_seconds", cli), unit="s",
                           min_=0, description="Npgsql command duration across the selected clients. Exemplars "
                                               "open the trace."),
                timeseries("p95 query duration by client", [target(
                    f"histogram_quantile(0.95, sum by (le, job) (rate(db_client_operation_duration_seconds_bucket"
                    f"{{{cli}}}[{RATE}])))", "{{job}}", exemplar=True)], unit="s", min_=0),
                timeseries("Commands", [
                    target(f"sum by (job) (rate(db_client_operation_duration_seconds_count{{{cli}}}[{RATE}]))",
                           "{{job}} completed/s"),
                    target(f"sum by (job) (db_client_operation_npgsql_executing{{{cli}}})", "{{job}} executing"),
                ], w=12),
                timeseries("Connection open time", [target(
                    f"histogram_quantile(0.95, sum by (le, job) "
                    f"(rate(db_client_connection_npgsql_create_time_seconds_bucket{{{cli}}}[{RATE}])))",
                    "p95 {{job}}", exemplar=True)], unit="s", min_=0, w=12,
                    description="Time to open a new physical connection (gaps: no connection was opened)."),
            ]),
        ])


# --- Redis --------------------------------------------------------------------------------------

def redis():
    srv = 'instance=~"$instance"'

    def rate_of(metric, extra=""):
        return f"sum(rate({metric}{{{srv}{extra}}}[{RATE}]))"

    return dashboard(
        "shortener-redis", "Shortener / Redis", ["shortener", "redis"],
        "Redis as redis_exporter sees it: the link cache, rate-limit and fault keys, and the click stream.",
        [query_var("instance", "Exporter", "label_values(redis_up, instance)", multi=True, include_all=True)],
        [
            stat("Redis", f"min(redis_up{{{srv}}})", mappings=UP_DOWN, steps=thresholds("red", (1, "green")),
                 graph=False, links=[runbook("redis.md")],
                 description="redis_up: the exporter reached Redis. RedisDown pages after 1 minute."),
            stat("Uptime", f"min(redis_uptime_in_seconds{{{srv}}})", unit="dtdurations", graph=False,
                 description="A reset means a restart: the click stream survives only through the AOF."),
            stat("Memory used", f"sum(redis_memory_used_bytes{{{srv}}})", unit="bytes", links=[runbook("redis.md")]),
            stat("maxmemory", f"max(redis_memory_max_bytes{{{srv}}})", unit="bytes", graph=False,
                 mappings=[{"type": "value", "options": {"0": {"text": "no limit", "index": 0}}}],
                 description="RedisMemoryNearMax tickets above 90% of it. 0 = no limit (local runs)."),
            stat("Clients", f"sum(redis_connected_clients{{{srv}}})"),
            stat("Commands", rate_of("redis_commands_processed_total"), unit="suffix:/s"),
            row("Load and memory", [
                timeseries("Commands by type (top 10)", [target(
                    f"topk(10, sum by (cmd) (rate(redis_commands_total{{{srv}}}[{RATE}])))", "{{cmd}}")],
                    unit="suffix:/s"),
                timeseries("Average duration by command (top 10)", [target(
                    f"topk(10, sum by (cmd) (rate(redis_commands_duration_seconds_total{{{srv}}}[{RATE}])) / "
                    f"sum by (cmd) (rate(redis_commands_total{{{srv}}}[{RATE}])))", "{{cmd}}")], unit="s",
                    description="Time inside Redis per call (no network): slow commands block every client."),
                timeseries("Memory", [
                    target(f"sum(redis_memory_used_bytes{{{srv}}})", "used"),
                    target(f"sum(redis_memory_used_rss_bytes{{{srv}}})", "rss"),
                    target(f"max(redis_memory_max_bytes{{{srv}}})", "maxmemory (0 = no limit)"),
                ], unit="bytes", links=[runbook("redis.md")],
                    description="At maxmemory, volatile-lru evicts cached keys; stream writes fail once nothing "
                                "evictable is left."),
                timeseries("Clients", [
                    target(f"sum(redis_connected_clients{{{srv}}})", "connected"),
                    target(f"sum(redis_blocked_clients{{{srv}}})", "blocked"),
                    target(rate_of("redis_rejected_connections_total"), "rejected/s"),
                ]),
                timeseries("Keys", [
                    target(f'sum by (db) (redis_db_keys{{{srv}}}) > 0 or '
                           f'sum by (db) (redis_db_keys{{{srv}, db="db0"}})', "{{db}} keys"),
                    target(f'sum by (db) (redis_db_keys_expiring{{{srv}}}) > 0 or '
                           f'sum by (db) (redis_db_keys_expiring{{{srv}, db="db0"}})', "{{db}} with a TTL"),
                ], w=8, description="Databases holding keys, and db0 (the one the services use) always."),
                timeseries("Cache hit ratio", [target(
                    f"{rate_of('redis_keyspace_hits_total')} / ({rate_of('redis_keyspace_hits_total')} + "
                    f"{rate_of('redis_keyspace_misses_total')})", "hits")], unit="percentunit", w=8, min_=0, max_=1,
                    description="Key lookups that found a key (link cache, rate-limit counters)."),
                timeseries("Expired and evicted keys", [
                    target(rate_of("redis_expired_keys_total"), "expired"),
                    target(rate_of("redis_evicted_keys_total"), "evicted"),
                ], unit="suffix:/s", w=8,
                    description="Evictions mean Redis is at maxmemory."),
                timeseries("Network", [
                    target(rate_of("redis_net_input_bytes_total"), "in"),
                    target(rate_of("redis_net_output_bytes_total"), "out"),
                ], unit="Bps", w=8),
                timeseries("AOF", [
                    target(f"min(redis_aof_last_write_status{{{srv}}})", "last write ok"),
                    target(f"min(redis_aof_last_bgrewrite_status{{{srv}}})", "last rewrite ok"),
                ], w=8, min_=0, max_=1, links=[runbook("redis.md")],
                    description="The click stream must survive a restart: a failed AOF write loses clicks."),
                timeseries("Click stream (as the worker reads it)", [
                    target('max(shortener_clickstream_lag{job="worker"})', "lag"),
                    target('max(shortener_clickstream_dead_letters{job="worker"})', "dead letters"),
                ], w=8, links=[runbook("click-lag.md")],
                    description="From the worker's gauges: redis_exporter only reports stream lengths when started "
                                "with --check-streams."),
            ]),
        ])


# --- Traefik (compose only) ---------------------------------------------------------------------

def traefik():
    ep = 'entrypoint=~"$entrypoint"'
    rt = 'router=~"$router"'

    five_xx = ', code=~"5.."'

    def ep_rate(extra=""):
        return f"rate(traefik_entrypoint_requests_total{{{ep}{extra}}}[{RATE}])"

    def rt_rate(extra=""):
        return f"rate(traefik_router_requests_total{{{rt}{extra}}}[{RATE}])"

    return dashboard(
        "shortener-traefik", "Shortener / Traefik", ["shortener", "traefik", "compose"],
        "The edge in Docker Compose (Traefik v3, file provider). Traefik runs only in compose: every panel is "
        "empty in a local run.",
        [query_var("entrypoint", "Entrypoint", "label_values(traefik_entrypoint_requests_total, entrypoint)",
                   multi=True, include_all=True),
         query_var("router", "Router", "label_values(traefik_router_requests_total, router)", multi=True,
                   include_all=True)],
        [
            stat("Requests", f"sum({ep_rate()})", unit="reqps"),
            stat("Server errors (5xx)", f"(sum({ep_rate(five_xx)}) or vector(0)) / sum({ep_rate()})",
                 unit="percentunit", decimals=2, steps=thresholds("green", (0.001, "orange"), (0.01, "red"))),
            stat("p95 latency", f"histogram_quantile(0.95, sum by (le) "
                                f"(rate(traefik_entrypoint_request_duration_seconds_bucket{{{ep}}}[{RATE}])))",
                 unit="s", steps=thresholds("green", (0.3, "red"))),
            stat("API servers up", 'sum(traefik_service_server_up{service=~"api@.*"})',
                 steps=thresholds("red", (1, "orange"), (2, "green")), graph=False,
                 links=[runbook("service-not-ready.md")],
                 description="Replicas passing Traefik's /readyz health check (compose runs 2)."),
            stat("Open connections", "sum(traefik_open_connections)"),
            stat("Certificate expires in", "min(traefik_tls_certs_not_after) - time()", unit="dtdurations",
                 steps=thresholds("red", (14 * 86400, "orange"), (30 * 86400, "green")), graph=False),
            row("Entrypoints", [
                timeseries("Requests by entrypoint and status", [target(
                    f"sum by (entrypoint, code) ({ep_rate()})", "{{entrypoint}} {{code}}")], unit="reqps"),
                timeseries("Latency at the edge", quantiles("traefik_entrypoint_request_duration_seconds", ep),
                           unit="s", min_=0, threshold_steps=thresholds("green", (0.3, "red")),
                           description="Client-facing latency, including TLS and middlewares; compare with the API's "
                                       "own latency to see time spent in Traefik."),
            ]),
            row("Routers and services", [
                timeseries("Requests by router and status", [target(
                    f"sum by (router, code) ({rt_rate()})", "{{router}} {{code}}")], unit="reqps"),
                timeseries("p95 latency by router", [target(
                    f"histogram_quantile(0.95, sum by (le, router) (rate(traefik_router_request_duration_seconds_bucket"
                    f"{{{rt}}}[{RATE}])))", "{{router}}", exemplar=True)], unit="s", min_=0,
                    threshold_steps=thresholds("green", (0.3, "red"))),
                timeseries("Requests under 300 ms by router", [target(
                    f'sum by (router) (rate(traefik_router_request_duration_seconds_bucket{{{rt}, le="0.3"}}[{RATE}])) '
                    f"/ sum by (router) (rate(traefik_router_request_duration_seconds_count{{{rt}}}[{RATE}]))",
                    "{{router}}")], unit="percentunit", decimals=2,
                    threshold_steps=thresholds("red", (0.95, "green")),
                    description="The latency SLI measured at the edge (0.3 s is a bucket of Traefik's histogram)."),
                timeseries("Rate-limited (429) by router", [target(
                    ratio_or_zero(rt_rate(', code="429"'), rt_rate(), "router"), "{{router}}")],
                    unit="percentunit", min_=0,
                    description="Share of requests refused by the rateLimit middlewares."),
                timeseries("Requests by service and status", [target(
                    f"sum by (service, code) (rate(traefik_service_requests_total[{RATE}]))", "{{service}} {{code}}")],
                    unit="reqps"),
                timeseries("Servers up", [target("max by (service, url) (traefik_service_server_up)",
                                                 "{{service}} {{url}}")],
                           min_=0, max_=1, links=[runbook("service-not-ready.md")],
                           description="Traefik's own health check of each replica (/readyz every second)."),
                timeseries("Open connections by entrypoint", [target(
                    "sum by (entrypoint) (traefik_open_connections)", "{{entrypoint}}")], w=12),
                timeseries("Configuration reloads", [target(
                    f"sum(increase(traefik_config_reloads_total[{RATE}]))", "reloads")], w=12,
                    description="The file provider reloads dynamic/*.yml on change."),
            ]),
        ])


# --- Host and containers ------------------------------------------------------------------------

def host():
    node = 'instance=~"$node"'
    fs = node + ', fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"'
    ctr = 'name!="", container_label_com_docker_compose_service=~"$service"'

    def ctr_rate(metric):
        return f"sum by (name) (rate({metric}{{{ctr}}}[{RATE}]))"

    cores = f"count(count by (instance, cpu) (node_cpu_seconds_total{{{node}}}))"
    return dashboard(
        "shortener-host", "Shortener / Host and containers", ["shortener", "host", "compose"],
        "The machine (node_exporter) and, in Docker Compose, every container (cAdvisor).",
        [query_var("node", "Host", "label_values(node_uname_info, instance)", multi=True, include_all=True),
         query_var("service", "Compose service",
                   "label_values(container_last_seen, container_label_com_docker_compose_service)", multi=True,
                   include_all=True)],
        [
            stat("CPU busy", f'1 - avg(rate(node_cpu_seconds_total{{{node}, mode="idle"}}[{RATE}]))',
                 unit="percentunit", decimals=1, steps=thresholds("green", (0.7, "orange"), (0.9, "red"))),
            stat("Load per core", f"sum(node_load5{{{node}}}) / {cores}", decimals=2,
                 steps=thresholds("green", (1, "orange"), (2, "red"))),
            stat("Memory used",
                 f"1 - sum(node_memory_MemAvailable_bytes{{{node}}}) / sum(node_memory_MemTotal_bytes{{{node}}})",
                 unit="percentunit", decimals=1, steps=thresholds("green", (0.8, "orange"), (0.9, "red"))),
            stat("Fullest filesystem",
                 f"max(1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}})",
                 unit="percentunit", decimals=1, steps=thresholds("green", (0.8, "orange"), (0.9, "red")),
                 description="PostgreSQL, Redis (AOF), Prometheus, Loki and Tempo all write here."),
            stat("Uptime", f"min(time() - node_boot_time_seconds{{{node}}})", unit="dtdurations", graph=False),
            stat("Scrape targets down", 'count(up{job!="blackbox"} == 0) or vector(0)',
                 steps=thresholds("green", (1, "red")), links=[runbook("target-down.md")],
                 description="Every job Prometheus scrapes (TargetDown tickets after 5 minutes)."),
            row("Host (node_exporter)", [
                timeseries("CPU by mode", [target(
                    f'sum by (mode) (rate(node_cpu_seconds_total{{{node}, mode!="idle"}}[{RATE}])) / scalar({cores})',
                    "{{mode}}")], unit="percentunit", stack=True, min_=0, max_=1, fill=30,
                    description="iowait means waiting for the disk; steal means a noisy neighbour."),
                timeseries("Load", [
                    target(f"sum(node_load1{{{node}}})", "1m"),
                    target(f"sum(node_load5{{{node}}})", "5m"),
                    target(f"sum(node_load15{{{node}}})", "15m"),
                    target(cores, "cores"),
                ]),
                timeseries("Memory", [
                    target(f"sum(node_memory_MemTotal_bytes{{{node}}}) - sum(node_memory_MemAvailable_bytes{{{node}}})",
                           "used"),
                    target(f"sum(node_memory_MemAvailable_bytes{{{node}}})", "available"),
                    target(f"sum(node_memory_SwapTotal_bytes{{{node}}}) - sum(node_memory_SwapFree_bytes{{{node}}})",
                           "swap used"),
                ], unit="bytes", w=8),
                timeseries("Filesystem used", [target(
                    f"1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}}", "{{mountpoint}}")],
                    unit="percentunit", w=8, min_=0, max_=1, threshold_steps=thresholds("green", (0.9, "red"))),
                timeseries("Disk I/O", [
                    target(f"sum by (device) (rate(node_disk_read_bytes_total{{{node}}}[{RATE}]))", "read {{device}}"),
                    target(f"sum by (device) (rate(node_disk_written_bytes_total{{{node}}}[{RATE}]))",
                           "written {{device}}"),
                    target(f"sum by (device) (rate(node_disk_io_time_seconds_total{{{node}}}[{RATE}]))",
                           "busy {{device}}"),
                ], unit="Bps", w=8, description="busy is the share of time the device had I/O in flight (0-1)."),
                timeseries("Network", [
                    target(f'sum by (device) (rate(node_network_receive_bytes_total{{{node}, device!="lo"}}[{RATE}]))',
                           "in {{device}}"),
                    target(f'sum by (device) (rate(node_network_transmit_bytes_total{{{node}, device!="lo"}}[{RATE}]))',
                           "out {{device}}"),
                ], unit="Bps", w=24, h=7,
                    description="In compose, node-exporter is not on the host network: these are its own container's "
                                "interfaces, not the host's. Use the container panels for traffic per service."),
            ]),
            row("Containers (cAdvisor, compose only)", [
                timeseries("CPU by container", [target(ctr_rate("container_cpu_usage_seconds_total"), "{{name}}")],
                           description="Cores used; compare with each service's cpus limit in compose."),
                timeseries("Memory by container", [target(
                    f"sum by (name) (container_memory_working_set_bytes{{{ctr}}})", "{{name}}")], unit="bytes"),
                timeseries("Memory against limit", [target(
                    f"sum by (name) (container_memory_working_set_bytes{{{ctr}}}) / "
                    f"sum by (name) (container_spec_memory_limit_bytes{{{ctr}}} > 0)", "{{name}}")],
                    unit="percentunit", min_=0, threshold_steps=thresholds("green", (0.9, "red")),
                    description="The kernel OOM-kills a container at 100% of its memory limit."),
                # Not changes(container_start_time_seconds): cAdvisor sets it from Docker's "Created" time
                # (container/docker/handler.go@v0.55.1), which a restart in place keeps. A restart starts a new
                # cgroup, whose CPU counter starts again from 0: resets() counts restarts, in place or not.
                timeseries("Restarts and OOM kills", [
                    target(f"sum by (name) (resets(container_cpu_usage_seconds_total{{{ctr}}}[1h]))", "restarts {{name}}"),
                    target(f"sum by (name) (increase(container_oom_events_total{{{ctr}}}[1h]))", "OOM {{name}}"),
                ], description="Over the past hour. Restarts are resets of the container's CPU counter (a new cgroup "
                               "starts at 0), so restarts in place under `restart: unless-stopped` count too."),
                timeseries("Network by container", [
                    target(ctr_rate("container_network_receive_bytes_total"), "in {{name}}"),
                    target(ctr_rate("container_network_transmit_bytes_total"), "out {{name}}"),
                ], unit="Bps"),
                timeseries("Disk I/O by container", [
                    target(ctr_rate("container_fs_reads_bytes_total"), "read {{name}}"),
                    target(ctr_rate("container_fs_writes_bytes_total"), "written {{name}}"),
                ], unit="Bps"),
            ]),
        ])


DASHBOARDS = {"api.json": api, "worker.json": worker, "postgres.json": postgres, "redis.json": redis,
              "traefik.json": traefik, "host.json": host}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, build in DASHBOARDS.items():
        text = json.dumps(build(), indent=2) + "\n"
        path = OUT / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("stale (run python3 observability/grafana/tools/build-dashboards.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
