#!/usr/bin/env python3
"""Checks the Grafana dashboards, offline and (given a Prometheus URL) against live data.

    check-dashboards.py [--verbose] [PROMETHEUS_URL]

Offline, always:
  * every dashboard JSON parses and has a uid, a title and tags; uids and titles are unique; panel ids
    are unique within a dashboard; data source uids exist in provisioning/datasources;
  * every variable an expression uses is defined; every latency quantile drawn as a time series has
    exemplars on; every runbook link names a page in docs/runbooks/;
  * every PromQL expression (panel targets, variable queries, annotations), with the template variables
    substituted, parses: promtool check rules on a throwaway file holding each as a recording rule;
  * the JSON is what tools/build-dashboards.py renders;
  * every expression and recording rule that reads a compose-only metric runs against a real Prometheus
    (Debian's) that scrapes recorded expositions of the pinned Traefik, cAdvisor, Collector, Loki, Tempo
    and Grafana (observability/prometheus/samples) through our prometheus.yml and the compose target
    labels: empty results and missing legend labels fail, with no allowlist; and the same config with
    the traefik job's honor_labels removed (a defect a review found) must fail.
With PROMETHEUS_URL (a Prometheus scraping the running services and exporters):
  * every panel expression, every variable query and every recording rule of
    observability/prometheus/rules/*.yml runs through /api/v1/query: an error fails; an empty result
    fails unless the expression reads a metric listed in dashboards/compose-only.txt (absent outside
    Docker Compose) or dashboards/on-first-event.txt (exported only once something happened);
  * legend labels ({{label}}) and label_values() labels exist on the series returned.
Ends with "N passed, N failed"; exits 1 on any failure. Python 3 standard library and promtool only.
"""
import http.server
import json
import os
import re
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "observability/grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning/datasources"
RULES = ROOT / "observability/prometheus/rules"
RUNBOOKS = ROOT / "docs/runbooks"
BUILDER = GRAFANA / "tools/build-dashboards.py"
ALLOWLISTS = {"compose-only": DASHBOARDS / "compose-only.txt", "on first event": DASHBOARDS / "on-first-event.txt"}
PROMETHEUS_DIR = ROOT / "observability/prometheus"
SAMPLES = PROMETHEUS_DIR / "samples"
ENV_EXAMPLE = ROOT / "deploy/compose/.env.example"
# The compose-only scrape jobs, the .env.example image each scrapes and the prefix of its recorded exposition
# (samples/<prefix>-<tag>.prom): a new pinned tag needs a new recording.
SAMPLED_JOBS = {"traefik": ("TRAEFIK_IMAGE", "traefik"), "cadvisor": ("CADVISOR_IMAGE", "cadvisor"),
                "otel-collector": ("OTEL_COLLECTOR_IMAGE", "otelcol-contrib"), "loki": ("LOKI_IMAGE", "loki"),
                "tempo": ("TEMPO_IMAGE", "tempo"), "grafana": ("GRAFANA_IMAGE", "grafana")}
# Tempo's metrics generator remote-writes its series into Prometheus with their own labels; the check scrapes
# the recording with honor_labels, which keeps them as they are.
REMOTE_WRITTEN = ("tempo-metrics-generator", "TEMPO_IMAGE", "tempo", "-metrics-generator")

# Values the check gives Grafana's built-in variables (a 15 s scrape interval makes $__rate_interval 1m).
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__interval_ms": "60000", "__range": "1h",
            "__range_s": "3600", "__range_ms": "3600000", "__auto": "1m"}
SPECIAL_DATASOURCES = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                "offset", "bool", "inf", "nan", "atan2", "start", "end"}


class Report:
    def __init__(self, verbose, quiet=False):
        self.verbose, self.quiet, self.passed, self.failed = verbose, quiet, 0, 0
        self.failures = []

    def ok(self, what, note=""):
        self.passed += 1
        if not self.quiet and (self.verbose or note):
            print(f"ok    {what}" + (f"  ({note})" if note else ""))

    def fail(self, what, why):
        self.failed += 1
        self.failures.append(what)
        if not self.quiet:
            print(f"FAIL  {what}: {why}")


# --- A YAML subset: enough for Prometheus rule files and Grafana provisioning ------------------------

class MiniYaml:
    """Block mappings and sequences, block scalars (| >), quoted and plain scalars, [] and {} flows."""

    def __init__(self, text):
        self.lines, self.i = text.splitlines(), 0

    @staticmethod
    def indent(line):
        return len(line) - len(line.lstrip(" "))

    def skip(self):
        while self.i < len(self.lines):
            stripped = self.lines[self.i].strip()
            if stripped and not stripped.startswith("#") and stripped != "---":
                return True
            self.i += 1
        return False

    def node(self, min_indent):
        if not self.skip() or self.indent(self.lines[self.i]) < min_indent:
            return None
        ind = self.indent(self.lines[self.i])
        return self.seq(ind) if self.is_item(self.lines[self.i]) else self.mapping(ind)

    @staticmethod
    def is_item(line):
        stripped = line.strip()
        return stripped == "-" or stripped.startswith("- ")

    def seq(self, ind):
        out = []
        while self.skip() and self.indent(self.lines[self.i]) == ind and self.is_item(self.lines[self.i]):
            rest = self.lines[self.i].strip()[1:].strip()
            if not rest:
                self.i += 1
                out.append(self.node(ind + 1))
            elif self.key_split(rest):
                self.lines[self.i] = " " * (ind + 2) + rest
                out.append(self.mapping(ind + 2))
            else:
                self.i += 1
                out.append(self.scalar(rest))
        return out

    @staticmethod
    def key_split(content):
        if content[0] in "\"'[{":
            return None
        match = re.match(r"^([^\s:#][^:#]*?)\s*:(\s+|$)(.*)$", content)
        return (match.group(1), match.group(3)) if match else None

    def mapping(self, ind):
        out = {}
        while self.skip() and self.indent(self.lines[self.i]) == ind and not self.is_item(self.lines[self.i]):
            split = self.key_split(self.lines[self.i].strip())
            if not split:
                raise ValueError(f"line {self.i + 1}: cannot read {self.lines[self.i].strip()!r}")
            key, rest = split
            rest = self.strip_comment(rest)
            self.i += 1
            if re.fullmatch(r"[|>][-+]?", rest):
                out[key] = self.block(ind, rest)
            elif rest:
                out[key] = self.scalar(rest)
            elif self.skip() and (self.indent(self.lines[self.i]) > ind or
                                  (self.indent(self.lines[self.i]) == ind and self.is_item(self.lines[self.i]))):
                out[key] = self.node(self.indent(self.lines[self.i]))
            else:
                out[key] = None
        return out

    def block(self, ind, style):
        body = []
        while self.i < len(self.lines) and (not self.lines[self.i].strip() or self.indent(self.lines[self.i]) > ind):
            body.append(self.lines[self.i])
            self.i += 1
        while body and not body[-1].strip():
            body.pop()
        if not body:
            return ""
        cut = min(self.indent(line) for line in body if line.strip())
        lines = [line[cut:] for line in body]
        text = "\n".join(lines) if style[0] == "|" else " ".join(line.strip() for line in lines)
        return text if style.endswith("-") else text + "\n"

    @staticmethod
    def strip_comment(text):
        quote = None
        for pos, char in enumerate(text):
            if quote:
                quote = None if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#" and (pos == 0 or text[pos - 1] in " \t"):
                return text[:pos].strip()
        return text.strip()

    def scalar(self, text):
        text = self.strip_comment(text)
        if text.startswith('"'):
            return json.loads(text)
        if text.startswith("'"):
            return text[1:-1].replace("''", "'")
        if text.startswith("[") and text.endswith("]"):
            inner = text[1:-1].strip()
            return [self.scalar(part.strip()) for part in inner.split(",")] if inner else []
        if text == "{}":
            return {}
        return text


def load_yaml(path):
    return MiniYaml(path.read_text()).node(0)


# --- Reading dashboards ---------------------------------------------------------------------------

def walk_panels(panels):
    for panel in panels or []:
        yield panel
        yield from walk_panels(panel.get("panels"))


def variable_values(dashboard):
    values = dict(BUILTINS)
    for var in dashboard.get("templating", {}).get("list", []):
        kind, current = var.get("type"), var.get("current") or {}
        value = current.get("value")
        if kind in ("textbox", "constant"):
            value = var.get("query", value)
        if isinstance(value, list):
            value = "|".join(value)
        if value in (None, "", "$__all") or (isinstance(value, str) and "$__all" in value.split("|")):
            value = var.get("allValue") or ".*"
        values[var["name"]] = value
    return values


VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def substitute(expr, values):
    """Returns (expr with template variables replaced, names that are not defined)."""
    missing = []

    def replace(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in values:
            return values[name]
        missing.append(name)
        return match.group(0)

    return VARIABLE.sub(replace, expr), missing


def variable_query(var):
    """The PromQL inside a query variable: (expr, label) for label_values(expr, label), else (expr, None)."""
    query = var.get("query")
    if isinstance(query, dict):
        query = query.get("query", "")
    query = (query or "").strip()
    match = re.fullmatch(r"label_values\((.*)\)", query, re.S)
    if match:
        args = match.group(1)
        depth, split = 0, -1
        for pos, char in enumerate(args):
            depth += char in "({["
            depth -= char in ")}]"
            if char == "," and depth == 0:
                split = pos
        if split < 0:
            return None, args.strip()
        return args[:split].strip(), args[split + 1:].strip()
    match = re.fullmatch(r"query_result\((.*)\)", query, re.S)
    return (match.group(1).strip() if match else query or None), None


def metric_names(expr):
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\[\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text):
        if match.group(1) not in PROMQL_WORDS:
            names.add(match.group(1))
    return names


class Expression:
    def __init__(self, where, expr, legend="", label=None, kind="panel", record=None, exemplar=False):
        self.where, self.expr, self.legend, self.label, self.kind = where, expr, legend, label, kind
        self.record, self.exemplar = record, exemplar


def read_allowlists(report):
    lists = {}
    for kind, path in ALLOWLISTS.items():
        entries, problems = [], []
        for number, line in enumerate(path.read_text().splitlines() if path.exists() else [], 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                problems.append(f"line {number}: no reason given for {parts[0]}")
                continue
            try:
                entries.append((re.compile(parts[0]), parts[1]))
            except re.error as err:
                problems.append(f"line {number}: {err}")
        where = path.relative_to(ROOT)
        if not path.exists():
            report.fail(where, "missing")
        elif problems:
            report.fail(where, "; ".join(problems))
        else:
            report.ok(f"{where}: {len(entries)} entries")
        lists[kind] = entries
    return lists


def provisioned_uids():
    uids = set()
    for path in sorted(DATASOURCES.glob("*.y*ml")):
        for source in (load_yaml(path) or {}).get("datasources") or []:
            if source.get("uid"):
                uids.add(source["uid"])
    return uids


def check_dashboard(path, dashboard, uids, seen, report):
    """Structural checks of one dashboard; returns its expressions (variables substituted)."""
    name = path.relative_to(DASHBOARDS)
    problems, expressions = [], []
    for field in ("uid", "title"):
        if not isinstance(dashboard.get(field), str) or not dashboard[field].strip():
            problems.append((name, f"no {field}"))
    uid = dashboard.get("uid") or ""
    if uid and not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
        problems.append((name, f"uid {uid!r} is not 1-40 characters of [A-Za-z0-9_-]"))
    for field in ("uid", "title"):
        value = dashboard.get(field)
        if value in seen[field]:
            problems.append((name, f"{field} {value!r} also used by {seen[field][value]}"))
        seen[field][value] = name
    if not dashboard.get("tags"):
        problems.append((name, "no tags"))
    if dashboard.get("id") is not None:
        problems.append((name, "has a fixed numeric id (let Grafana assign it)"))

    values = variable_values(dashboard)

    def datasource_ok(source, where):
        if source is None:
            return
        if not isinstance(source, dict):
            problems.append((where, f"data source {source!r} is not a {{type, uid}} reference"))
        elif source.get("uid") not in uids | SPECIAL_DATASOURCES:
            problems.append((where, f"data source uid {source.get('uid')!r} is not provisioned ({sorted(uids)})"))

    def add(where, expr, legend="", label=None, kind="panel", exemplar=False):
        text, missing = substitute(expr, values)
        if missing:
            problems.append((where, f"undefined variable(s) {', '.join(sorted(set(missing)))}"))
        expressions.append(Expression(where, text, legend, label, kind, exemplar=exemplar))

    for var in dashboard.get("templating", {}).get("list", []):
        where = f"{name} variable ${var.get('name')}"
        if var.get("type") == "query":
            datasource_ok(var.get("datasource"), where)
            expr, label = variable_query(var)
            if expr:
                add(where, expr, label=label, kind="variable")
    for annotation in dashboard.get("annotations", {}).get("list", []):
        datasource_ok(annotation.get("datasource"), f"{name} annotation {annotation.get('name')!r}")
        if annotation.get("expr"):
            add(f"{name} annotation {annotation.get('name')!r}", annotation["expr"], kind="annotation")

    ids = {}
    for panel in walk_panels(dashboard.get("panels")):
        where = f"{name} #{panel.get('id')} {panel.get('title')!r}"
        pid = panel.get("id")
        if not isinstance(pid, int):
            problems.append((where, "no integer id"))
        elif pid in ids:
            problems.append((where, f"id {pid} already used by {ids[pid]!r}"))
        else:
            ids[pid] = panel.get("title")
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in "xywh") or grid["x"] + grid["w"] > 24:
            problems.append((where, f"gridPos {grid} is incomplete or wider than 24"))
        if panel.get("type") == "row":
            continue
        datasource_ok(panel.get("datasource"), where)
        for link in panel.get("links") or []:
            match = re.fullmatch(r"\$\{runbooks\}/([\w.-]+)", link.get("url", ""))
            if "runbook" in link.get("title", "").lower() and not match:
                problems.append((where, f"runbook link {link.get('url')!r} is not ${{runbooks}}/<page>"))
            if match and not (RUNBOOKS / match.group(1)).is_file():
                problems.append((where, f"runbook {match.group(1)} does not exist in docs/runbooks/"))
            if match and "runbooks" not in values:
                problems.append((where, f"links to ${{runbooks}} but the dashboard has no runbooks variable"))
        targets = panel.get("targets") or []
        if not targets:
            problems.append((where, "no queries"))
        for t in targets:
            twhere = f"{where} [{t.get('refId')}]"
            datasource_ok(t.get("datasource"), twhere)
            if not t.get("expr"):
                problems.append((twhere, "no expr"))
                continue
            if panel.get("type") == "timeseries" and "histogram_quantile" in t["expr"] and not t.get("exemplar"):
                problems.append((twhere, "a latency quantile without exemplars"))
            add(twhere, t["expr"], legend=t.get("legendFormat", ""), exemplar=bool(t.get("exemplar")))

    if problems:
        for where, problem in problems:
            report.fail(where, problem)
    else:
        report.ok(f"{name}: {len(ids)} panels, {len(expressions)} expressions")
    return expressions


def promtool_parse(expressions, report):
    promtool = shutil.which("promtool")
    if not promtool:
        report.fail("promtool", "not found (Debian: apt-get install prometheus)")
        return
    groups = [{"name": f"e{n}", "rules": [{"record": f"dashboard:expr_{n}", "expr": e.expr}]}
              for n, e in enumerate(expressions)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        # JSON is YAML: no quoting to get wrong.
        json.dump({"groups": groups}, handle)
    try:
        result = subprocess.run([promtool, "check", "rules", handle.name], capture_output=True, text=True)
    finally:
        Path(handle.name).unlink()
    output = result.stdout + result.stderr
    errors = {}
    for line in output.splitlines():
        match = re.search(r'group "e(\d+)"', line)
        if match:
            errors.setdefault(int(match.group(1)), []).append(line.strip())
    if result.returncode != 0 and not errors:
        report.fail("promtool check rules", output.strip())
    for n, e in enumerate(expressions):
        if n in errors:
            report.fail(f"{e.where} parse", "; ".join(errors[n]) + f"\n      expr: {e.expr}")
        else:
            report.ok(f"{e.where} parses")


def recording_rules():
    rules = []
    for path in sorted(RULES.glob("*.yml")):
        for group in (load_yaml(path) or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                if "record" in rule:
                    labels = ",".join(f'{k}="{v}"' for k, v in sorted((rule.get("labels") or {}).items()))
                    rules.append(Expression(f"{path.name} {group['name']} {rule['record']}{{{labels}}}",
                                            rule["expr"].strip(), kind="rule", record=rule["record"]))
    return rules


# --- Live checks ----------------------------------------------------------------------------------

def prometheus(url, path, params, post=False):
    query = urllib.parse.urlencode(params)
    if post:  # /api/v1/query takes a form body: no URL length limit for long expressions
        request = urllib.request.Request(url.rstrip("/") + path, data=query.encode(), method="POST")
    else:
        request = urllib.request.Request(url.rstrip("/") + path + (f"?{query}" if query else ""))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        try:
            return json.load(err)
        except ValueError:
            return {"status": "error", "error": f"HTTP {err.code}"}


def live(url, expressions, allowlists, rule_intervals, report):
    now = time.time()
    for e in expressions:
        if e.kind == "annotation":
            continue  # ALERTS is empty while nothing fires: parsing it is all there is to check
        answer = prometheus(url, "/api/v1/query", {"query": e.expr, "time": f"{now:.3f}"}, post=True)
        if answer.get("status") != "success":
            report.fail(e.where, f"{answer.get('errorType', 'error')}: {answer.get('error')}\n      expr: {e.expr}")
            continue
        data = answer["data"]
        result = data["result"]
        if data["resultType"] in ("scalar", "string"):
            report.ok(e.where, "")
            continue
        if not result:
            names = metric_names(e.expr)
            excuse = next(((kind, pattern.pattern, reason) for kind, entries in allowlists.items()
                           for pattern, reason in entries for name in sorted(names) if pattern.fullmatch(name)), None)
            if excuse:
                report.ok(e.where, f"empty, {excuse[0]}: {excuse[1]}, {excuse[2]}")
                continue
            recorded = sorted(name for name in names if name in rule_intervals)
            hint = ""
            if recorded:
                hint = (f"\n      reads {', '.join(recorded)}, recorded by a rule group evaluated every "
                        f"{max(rule_intervals[n] for n in recorded):g}s: has Prometheus been running that long?")
            report.fail(e.where, f"no data\n      expr: {e.expr}{hint}")
            continue
        labels = set().union(*(series["metric"].keys() for series in result))
        wanted = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", e.legend or ""))
        if e.label:
            wanted.add(e.label)
        absent = sorted(wanted - labels)
        if absent:
            report.fail(e.where, f"label(s) {', '.join(absent)} on none of the {len(result)} series returned"
                                 f"\n      expr: {e.expr}")
        else:
            report.ok(e.where, "")


# --- Recorded samples of the compose-only exporters -------------------------------------------------

def pinned_tags():
    tags = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"([A-Z0-9_]+_IMAGE)=\S+:([^:\s]+)", line.strip())
        if match:
            tags[match.group(1)] = match.group(2)
    return tags


def serve(path):
    """A loopback HTTP server answering every GET with the exposition in path; returns (server, port)."""
    body = path.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sampled_prometheus(workdir, config_text, sample_ports):
    """Starts Debian's prometheus on our prometheus.yml (scrapes every second) with the compose target labels,
    the compose-only jobs pointed at the recorded samples and every other job empty; returns (process, url)."""
    targets = workdir / "targets"
    targets.mkdir()
    for path in sorted((PROMETHEUS_DIR / "targets/compose").glob("*.yml")):
        job = path.stem
        if job in sample_ports:
            groups = load_yaml(path) or [{}]
            labels = groups[0].get("labels") or {}
            (targets / path.name).write_text(json.dumps([{"targets": [f"127.0.0.1:{sample_ports[job]}"], "labels": labels}]))
        else:
            (targets / path.name).write_text("[]\n")
    config = re.sub(r"(scrape_interval|scrape_timeout|evaluation_interval): 1[05]s", r"\1: 1s", config_text)
    name, _, _, _ = REMOTE_WRITTEN
    config += (f"\n  - job_name: {name}\n    honor_labels: true\n    static_configs:\n"
               f"      - targets: ['127.0.0.1:{sample_ports[name]}']\n")
    (workdir / "prometheus.yml").write_text(config)
    os.symlink(RULES, workdir / "rules")
    port = free_port()
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen([shutil.which("prometheus") or "prometheus", f"--config.file={workdir / 'prometheus.yml'}",
                                f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}: {(workdir / 'prometheus.log').read_text()[-2000:]}")
        try:
            active = prometheus(url, "/api/v1/targets", {"state": "active"})["data"]["activeTargets"]
            if len(active) == len(sample_ports) and all(t["health"] == "up" for t in active):
                time.sleep(5)  # several scrapes and rule evaluations: rate() and the recording rules have data
                return process, url
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the sampled targets were not all up within 60 s: {(workdir / 'prometheus.log').read_text()[-2000:]}")


def run_on_recorded_samples(expressions, allowlists, config_text, report):
    """Runs every expression that reads a compose-only metric against a real Prometheus scraping the recorded
    expositions through our scrape config: no excuses, an empty result or a missing legend label fails."""
    tags = pinned_tags()
    files = {}
    for job, (image, prefix) in SAMPLED_JOBS.items():
        files[job] = SAMPLES / f"{prefix}-{tags.get(image, '?')}.prom"
    name, image, prefix, suffix = REMOTE_WRITTEN
    files[name] = SAMPLES / f"{prefix}-{tags.get(image, '?')}{suffix}.prom"
    missing = [str(path.relative_to(ROOT)) for path in files.values() if not path.is_file()]
    if missing:
        report.fail("recorded samples", f"no recording for the pinned version: {', '.join(missing)} "
                                        f"(record one as samples/README.md says)")
        return report
    compose_only = [pattern for pattern, _ in allowlists.get("compose-only", [])]
    selected = [Expression("recorded samples: " + e.where, e.expr, e.legend, e.label, e.kind, e.record)
                for e in expressions
                if e.kind != "annotation" and any(p.fullmatch(n) for n in metric_names(e.expr) for p in compose_only)]
    servers = [serve(path) for path in files.values()]
    ports = dict(zip(files, (port for _, port in servers)))
    with tempfile.TemporaryDirectory() as workdir:
        process = None
        try:
            process, url = sampled_prometheus(Path(workdir), config_text, ports)
            live(url, selected, {}, rule_group_intervals(url), report)
        except RuntimeError as err:
            report.fail("recorded samples", str(err))
        finally:
            if process:
                process.terminate()
                process.wait(timeout=30)
            for server, _ in servers:
                server.shutdown()


def datasource_metric_queries():
    """The Tempo data source's trace-to-metrics queries, for the API's spans: Grafana replaces $__tags with the
    span's mapped tags (service.name -> service), so they read as service="shortener-api"."""
    expressions = []
    for path in sorted(DATASOURCES.glob("*.y*ml")):
        for source in (load_yaml(path) or {}).get("datasources") or []:
            links = (source.get("jsonData") or {}).get("tracesToMetrics") or {}
            tags = ", ".join(f'{tag["value"]}="shortener-api"' for tag in links.get("tags") or [])
            for query in links.get("queries") or []:
                expr = query["query"].replace("$$__tags", tags).replace("$__tags", tags)
                expressions.append(Expression(f"{path.name} {source.get('name')} trace-to-metrics {query['name']!r}", expr))
    return expressions


def check_recorded_samples(expressions, allowlists, report):
    if not shutil.which("prometheus"):
        report.fail("recorded samples", "prometheus not found (Debian: apt-get install prometheus)")
        return
    config_text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    run_on_recorded_samples(expressions, allowlists, config_text, report)
    # The bad fixture: the traefik job without honor_labels, the defect a review found. Our target label
    # service="traefik" then renames Traefik's own service label to exported_service; the check must see it.
    bad_config = re.sub(r"(job_name: traefik\n(?:\s*#.*\n)*)\s*honor_labels: true\n", r"\1", config_text)
    if bad_config == config_text:
        report.fail("recorded samples: bad fixture", "could not remove honor_labels from the traefik job of prometheus.yml")
        return
    bad = Report(False, quiet=True)
    run_on_recorded_samples(expressions, allowlists, bad_config, bad)
    traefik = [where for where in bad.failures if "traefik" in where]
    if traefik and len(traefik) == len(bad.failures):
        report.ok(f"recorded samples: the traefik job without honor_labels fails {len(traefik)} Traefik expression(s), as it must")
    else:
        report.fail("recorded samples: bad fixture", "the traefik job without honor_labels should fail Traefik expressions "
                    f"and nothing else; it failed: {bad.failures or 'nothing'}")


def exemplar_summary(url, expressions, verbose):
    """Informational: exemplars need sampled traces and Prometheus' exemplar storage (compose enables it)."""
    wanted = [e for e in expressions if e.exemplar]
    end = time.time()
    found = 0
    for e in wanted:
        answer = prometheus(url, "/api/v1/query_exemplars", {"query": e.expr, "start": f"{end - 900:.3f}",
                                                              "end": f"{end:.3f}"}, post=True)
        count = sum(len(series.get("exemplars", [])) for series in answer.get("data") or [])
        found += count > 0
        if verbose:
            print(f"info  {e.where}: {count} exemplars in the last 15 minutes")
    print(f"info  exemplars in the last 15 minutes for {found} of {len(wanted)} exemplar-enabled queries "
          "(none: no --enable-feature=exemplar-storage, no sampled traces, or a compose-only metric)")


def rule_group_intervals(url):
    """Recorded metric name -> its group's evaluation interval, as the live Prometheus runs them."""
    answer = prometheus(url, "/api/v1/rules", {"type": "record"})
    intervals = {}
    for group in answer.get("data", {}).get("groups", []):
        for rule in group.get("rules", []):
            intervals[rule["name"]] = group.get("interval", 0)
    return intervals


def main(argv):
    verbose = "--verbose" in argv or "-v" in argv
    urls = [a if "://" in a else f"http://{a}" for a in argv if not a.startswith("-")]
    report = Report(verbose)

    freshness = subprocess.run([sys.executable, str(BUILDER), "--check"], capture_output=True, text=True)
    if freshness.returncode:
        report.fail("dashboards vs tools/build-dashboards.py", (freshness.stdout + freshness.stderr).strip())
    else:
        report.ok("dashboards match tools/build-dashboards.py")

    allowlists = read_allowlists(report)
    uids = provisioned_uids()
    seen = {"uid": {}, "title": {}}
    expressions = []
    files = sorted(DASHBOARDS.rglob("*.json"))
    if not files:
        report.fail(DASHBOARDS.relative_to(ROOT), "no dashboard JSON")
    for path in files:
        try:
            dashboard = json.loads(path.read_text())
        except ValueError as err:
            report.fail(path.relative_to(ROOT), f"invalid JSON: {err}")
            continue
        expressions += check_dashboard(path, dashboard, uids, seen, report)
    rules = recording_rules()
    promtool_parse(expressions, report)
    check_recorded_samples(expressions + rules + datasource_metric_queries(), allowlists, report)

    if urls:
        url = urls[0]
        try:
            build = prometheus(url, "/api/v1/status/buildinfo", {})
            print(f"live: Prometheus {build.get('data', {}).get('version', '?')} at {url}")
            intervals = rule_group_intervals(url)
        except (urllib.error.URLError, OSError) as err:
            report.fail(url, f"unreachable: {err}")
        else:
            missing = sorted({r.record for r in rules} - set(intervals))
            if missing:
                print(f"note: this Prometheus has not loaded recording rule(s) {', '.join(missing)}")
            live(url, expressions + rules, allowlists, intervals, report)
            exemplar_summary(url, expressions, report.verbose)
    else:
        print(f"offline only: {len(rules)} recording rules and {len(expressions)} dashboard expressions run "
              "only against a Prometheus (pass its URL)")

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
