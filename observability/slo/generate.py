#!/usr/bin/env python3
"""Render Prometheus rules for the SLOs in slos.json (Python standard library only).

  generate.py [rules] [--out DIR]
      Recording rules for every SLI window and multiwindow multi-burn-rate alerts, with real
      windows, one file per SLO: DIR/slo-<name>.yml (default DIR: observability/prometheus/rules).
      The committed files must be byte-identical to this output (scripts/check-observability.sh).

  generate.py gameday --out DIR [--scale 60] [--scrape-interval 2s] [--port 8080=PORT ...]
      A complete Prometheus directory for an automated game day, from the same sources:
        DIR/prometheus.yml  symlink to observability/prometheus/prometheus.yml (the one config)
        DIR/rules/          SLO rules and symptoms.yml with every window and `for` divided by
                            --scale, each group evaluated every --scrape-interval
        DIR/targets/        the local targets, scraped every --scrape-interval; --port OLD=NEW
                            moves every 127.0.0.1:OLD of targets/local to 127.0.0.1:NEW (a game
                            day on free ports, beside a `make run` or another game day)
      Run it with: prometheus --config.file=DIR/prometheus.yml ...
      2 s, not 1 s: the scrape timeout cannot exceed the interval, and postgres_exporter takes
      about 1.5 s to answer while its database is down (it would look like TargetDown instead of
      PostgresDown).
      Recording rule names keep their nominal window (ratio_rate1h is then a 1 m window) so alerts
      and dashboards read the same series in both modes.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SOURCE = HERE / "slos.json"
PROMETHEUS_DIR = REPO / "observability" / "prometheus"

_UNITS = [("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001)]
_UNIT_SECONDS = {"y": 365 * 86400.0, "w": 7 * 86400.0, **dict(_UNITS)}
_DURATION = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


def parse_duration(text):
    """Seconds in a Prometheus duration such as 5m, 1h30m or 250ms."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def format_duration(seconds):
    """The shortest Prometheus duration for a whole number of milliseconds, e.g. 4320 -> 1h12m."""
    remaining = round(seconds * 1000)
    if remaining <= 0:
        return "0s"
    out = []
    for unit, size in _UNITS:
        size_ms = round(size * 1000)
        count, remaining = divmod(remaining, size_ms)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def number(value):
    """A float as PromQL/YAML reads it best: 14.4, 6, 0.01 (no 0.010000000000000009)."""
    text = f"{round(value, 10):.10f}".rstrip("0").rstrip(".")
    return text or "0"


def percent(ratio):
    return number(ratio * 100) + "%"


def quoted(text):
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(text, ensure_ascii=False)


class Scaling:
    """Real windows (factor 1) or a game day's: windows / factor, never below what a rate needs."""

    def __init__(self, factor=1.0, scrape_interval=None):
        self.factor = factor
        self.scrape = parse_duration(scrape_interval) if scrape_interval else None

    @property
    def real(self):
        return self.factor == 1.0 and self.scrape is None

    def range(self, window):
        if self.real:
            return window
        # rate() needs at least two samples in the window: keep four scrapes' worth.
        return format_duration(max(parse_duration(window) / self.factor, 4 * self.scrape))

    def hold(self, duration):
        """A `for:` duration or an evaluation interval."""
        if self.real:
            return duration
        seconds = parse_duration(duration)
        return "0s" if seconds == 0 else format_duration(max(seconds / self.factor, self.scrape))


def sli_error_ratio(sli, window):
    if sli["type"] == "errors":
        errors = f"sum(rate({sli['errors']}[{window}]))"
        total = f"sum(rate({sli['total']}[{window}]))"
        # No 5xx series exists until the first server error: count that as 0 errors, not as no data.
        return f"(\n  {errors}\n  or vector(0)\n)\n/\n{total}"
    if sli["type"] == "latency":
        name, selector, le = sli["histogram"], sli["selector"], sli["threshold_le"]
        total = f"sum(rate({name}_count{{{selector}}}[{window}]))"
        fast = f"sum(rate({name}_bucket{{{selector},le=\"{le}\"}}[{window}]))"
        return f"(\n  {total}\n  -\n  {fast}\n)\n/\n{total}"
    raise ValueError(f"unknown SLI type {sli['type']!r}")


def block(expr, indent):
    pad = " " * indent
    return "|\n" + "\n".join(pad + line if line else "" for line in expr.splitlines())


def render_slo(spec, slo, scaling, eval_interval=None):
    name, service = slo["name"], slo["service"]
    objective = slo["objective"]
    budget = round(1 - objective, 10)
    alerts = spec["alerts"]
    budget_window = spec["budget_window"]
    windows = sorted(
        {w for severity in ("page", "ticket") for a in alerts[severity] for w in (a["long_window"], a["short_window"])},
        key=parse_duration,
    )
    selector = f'{{slo="{name}"}}'
    slo_labels = f"          slo: {name}\n          service: {service}\n"

    out = []
    out.append("# Generated by observability/slo/generate.py from observability/slo/slos.json: do not edit.\n")
    if not scaling.real:
        out.append(
            f"# GAME DAY ONLY: every window and `for` divided by {number(scaling.factor)}; rule names keep their\n"
            "# nominal window so alerts and dashboards read the same series.\n"
        )
    out.append(f"# SLO {name}: {slo['description']}\n")
    out.append(f"# Objective {percent(objective)} over {budget_window}; error budget {percent(budget)}.\n")
    out.append("groups:\n")

    def group(group_name, interval):
        out.append(f"  - name: {group_name}\n")
        if interval:
            out.append(f"    interval: {interval}\n")
        out.append("    rules:\n")

    # SLI: the error ratio over each window the alerts use.
    group(f"slo-{name}-sli", eval_interval)
    for window in windows:
        out.append(f"      - record: slo:sli_error:ratio_rate{window}\n")
        out.append(f"        expr: {block(sli_error_ratio(slo['sli'], scaling.range(window)), 10)}\n")
        out.append("        labels:\n" + slo_labels)

    # Budget over the whole SLO window: 30 days of raw samples is the heaviest query here, and
    # nothing needs it fresher than every 5 minutes.
    group(f"slo-{name}-budget", scaling.hold("5m"))
    out.append(f"      - record: slo:objective:ratio\n")
    out.append(f"        expr: vector({number(objective)})\n")
    out.append("        labels:\n" + slo_labels)
    out.append(f"      - record: slo:sli_error:ratio_rate{budget_window}\n")
    out.append(f"        expr: {block(sli_error_ratio(slo['sli'], scaling.range(budget_window)), 10)}\n")
    out.append("        labels:\n" + slo_labels)
    out.append(f"      # 1 = the whole {budget_window} budget left, 0 = spent, below 0 = SLO missed.\n")
    out.append(f"      - record: slo:error_budget:remaining_ratio\n")
    out.append(f"        expr: 1 - slo:sli_error:ratio_rate{budget_window}{selector} / {number(budget)}\n")
    out.append("        labels:\n" + slo_labels)

    group(f"slo-{name}-alerts", eval_interval)
    runbook = quoted(slo["runbook"])
    for severity in ("page", "ticket"):
        conditions = alerts[severity]
        branches = []
        for c in conditions:
            threshold = f"({number(c['burn_rate'])} * {number(budget)})"
            branches.append(
                "(\n"
                f"  slo:sli_error:ratio_rate{c['long_window']}{selector} > {threshold}\n"
                "  and\n"
                f"  slo:sli_error:ratio_rate{c['short_window']}{selector} > {threshold}\n"
                ")"
            )
        explained = " or ".join(
            f"above {number(c['burn_rate'])}x the budget rate over {c['long_window']} and {c['short_window']}"
            f" ({c['budget_spent']})"
            for c in conditions
        )
        speed = "fast" if severity == "page" else "steadily"
        expr = "\nor\n".join(branches)
        out.append("      - alert: SLOErrorBudgetBurn\n")
        out.append(f"        expr: {block(expr, 10)}\n")
        out.append("        labels:\n")
        out.append(f"          severity: {severity}\n")
        out.append("        annotations:\n")
        out.append(f"          summary: {quoted(name + ': error budget burning ' + speed)}\n")
        description = (
            f"SLO {name} (objective {percent(objective)} over {budget_window}) is consuming its error budget"
            f" too quickly: error ratio {explained}."
            " Error ratio over the long window: {{ $value | humanizePercentage }}."
        )
        out.append(f"          description: {quoted(description)}\n")
        out.append(f"          runbook_url: {runbook}\n")

    nearly = alerts["budget_nearly_spent"]
    remaining = round(1 - nearly["spent_ratio"], 10)
    out.append("      - alert: SLOErrorBudgetNearlySpent\n")
    out.append(f"        expr: slo:error_budget:remaining_ratio{selector} < {number(remaining)}\n")
    out.append(f"        for: {scaling.hold(nearly['for'])}\n")
    out.append("        labels:\n")
    out.append("          severity: ticket\n")
    out.append("        annotations:\n")
    summary = f"{name}: over {percent(nearly['spent_ratio'])} of the {budget_window} error budget spent"
    out.append(f"          summary: {quoted(summary)}\n")
    description = (
        f"SLO {name} (objective {percent(objective)} over {budget_window}) has "
        "{{ $value | humanizePercentage }} of its error budget left. Freeze risky changes and fix reliability first."
    )
    out.append(f"          description: {quoted(description)}\n")
    out.append(f"          runbook_url: {runbook}\n")
    return "".join(out)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def render_rules(spec, out_dir, scaling, eval_interval=None):
    for slo in spec["slos"]:
        write(out_dir / f"slo-{slo['name']}.yml", render_slo(spec, slo, scaling, eval_interval))


# --- game day: the hand-written symptom rules and the local targets, sped up -----------------------

_FOR = re.compile(r"^(\s*)for: (\S+)\s*$")
_RANGE = re.compile(r"\[(\d[0-9a-z]*)\]")
_GROUP = re.compile(r"^  - name: \S+\s*$")


def scale_symptoms(text, scaling, eval_interval):
    """Rewrites durations line by line; symptoms.yml keeps to the shapes this understands."""
    if re.search(r"^\s*interval:", text, re.M) or re.search(r"\[[^\]]*:[^\]]*\]|\boffset\b", text):
        raise SystemExit("symptoms.yml: group intervals, subqueries and offsets cannot be scaled for a game day")
    out = []
    for line in text.splitlines(keepends=True):
        match = _FOR.match(line)
        if match:
            line = f"{match.group(1)}for: {scaling.hold(match.group(2))}\n"
        else:
            line = _RANGE.sub(lambda m: f"[{scaling.range(m.group(1))}]", line)
        out.append(line)
        if _GROUP.match(line):
            out.append(f"    interval: {eval_interval}\n")
    header = (
        "# GAME DAY ONLY: generated by observability/slo/generate.py from observability/prometheus/rules/symptoms.yml,\n"
        f"# every range and `for` divided by {number(scaling.factor)}.\n"
    )
    return header + "".join(out)


_LOOPBACK_PORT = re.compile(r"\b127\.0\.0\.1:(\d+)\b")


def parse_port_map(pairs):
    """["8080=41001", ...] -> {8080: 41001}."""
    ports = {}
    for pair in pairs or []:
        match = re.fullmatch(r"(\d{1,5})=(\d{1,5})", pair)
        if not match or not all(0 < int(p) < 65536 for p in match.groups()):
            raise SystemExit(f"--port expects OLD=NEW (two TCP ports), not {pair!r}")
        ports[int(match.group(1))] = int(match.group(2))
    return ports


def move_ports(text, ports, used):
    def replace(match):
        port = int(match.group(1))
        if port not in ports:
            return match.group(0)
        used.add(port)
        return f"127.0.0.1:{ports[port]}"

    return _LOOPBACK_PORT.sub(replace, text)


def fast_targets(text, scrape_interval):
    """Adds per-target scrape interval/timeout labels (honoured by Prometheus since 2.30)."""
    out, groups, labelled = [], text.count("- targets:"), 0
    for line in text.splitlines(keepends=True):
        out.append(line)
        match = re.match(r"^(\s*)labels:\s*$", line)
        if match:
            pad = match.group(1) + "  "
            out.append(f"{pad}__scrape_interval__: {scrape_interval}\n{pad}__scrape_timeout__: {scrape_interval}\n")
            labelled += 1
    if labelled != groups:
        raise SystemExit("every target group in targets/local needs a labels: block")
    return "".join(out)


def render_gameday(spec, out_dir, factor, scrape_interval, ports=None):
    ports, used = ports or {}, set()
    scaling = Scaling(factor, scrape_interval)
    rules, targets = out_dir / "rules", out_dir / "targets"
    for directory in (rules, targets):
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.yml"):
            stale.unlink()
    render_rules(spec, rules, scaling, eval_interval=scrape_interval)
    for source in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        if not source.name.startswith("slo-"):
            write(rules / source.name, scale_symptoms(source.read_text(encoding="utf-8"), scaling, scrape_interval))
    for source in sorted((PROMETHEUS_DIR / "targets" / "local").glob("*.yml")):
        text = move_ports(source.read_text(encoding="utf-8"), ports, used)
        write(targets / source.name, fast_targets(text, scrape_interval))
    if set(ports) - used:
        unknown = ", ".join(str(p) for p in sorted(set(ports) - used))
        raise SystemExit(f"--port: no target in targets/local uses 127.0.0.1:{unknown}")
    config = out_dir / "prometheus.yml"
    if config.is_symlink() or config.exists():
        config.unlink()
    os.symlink(PROMETHEUS_DIR / "prometheus.yml", config)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["rules", "gameday"], default="rules")
    parser.add_argument("--out", type=Path, help="output directory")
    parser.add_argument("--scale", type=float, default=60, help="gameday: divide every window by this (default 60)")
    parser.add_argument("--scrape-interval", default="2s", help="gameday: scrape and evaluation interval (default 2s)")
    parser.add_argument("--port", action="append", metavar="OLD=NEW",
                        help="gameday: scrape 127.0.0.1:NEW wherever targets/local says 127.0.0.1:OLD (repeatable)")
    args = parser.parse_args(argv)
    spec = json.loads(SOURCE.read_text(encoding="utf-8"))

    if args.command == "rules":
        render_rules(spec, args.out or PROMETHEUS_DIR / "rules", Scaling())
    else:
        if not args.out:
            parser.error("gameday needs --out DIR")
        if args.scale < 1:
            parser.error("--scale must be at least 1")
        parse_duration(args.scrape_interval)
        render_gameday(spec, args.out, args.scale, args.scrape_interval, parse_port_map(args.port))


if __name__ == "__main__":
    main(sys.argv[1:])
