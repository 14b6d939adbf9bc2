#!/usr/bin/env python3
"""Game-day diagnostics on failure (Python standard library only).

  diagnose.py logs N FILE...                  the last N lines of each log (JSON console logs of
                                              .NET shortened to time, level, category and message)
  diagnose.py state PROMETHEUS_URL ALERTMANAGER_URL
                                              alerts as Prometheus sees them, rules that are not
                                              inactive or not healthy, targets not up, and what
                                              Alertmanager's /api/v2/alerts holds
"""

import json
import os
import sys
import urllib.request


def tail(path, count):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()[-count:]
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("{"):
            try:
                entry = json.loads(line)
                line = f"{entry.get('Timestamp', '')} {entry.get('LogLevel', '')} {entry.get('Category', '')}: {entry.get('Message', '')}"
                if entry.get("Exception"):
                    line += " | " + entry["Exception"].splitlines()[0]
            except ValueError:
                pass
        print("  " + line[:400])


def get(url):
    try:
        return json.load(urllib.request.urlopen(url, timeout=5))
    except (OSError, ValueError) as error:
        print(f"  {url}: {error}")
        return None


def state(prometheus, alertmanager):
    def labels_of(item):
        return {k: v for k, v in item["labels"].items() if k != "alertname"}

    print("---- Prometheus /api/v1/alerts")
    body = get(prometheus + "/api/v1/alerts")
    for alert in (body or {}).get("data", {}).get("alerts", []):
        print(f"  {alert['state']:8} {alert['labels']['alertname']} {labels_of(alert)} value={alert['value']}")

    print("---- Prometheus /api/v1/rules: alerting rules not inactive, rules not healthy")
    body = get(prometheus + "/api/v1/rules")
    for group in (body or {}).get("data", {}).get("groups", []):
        for rule in group["rules"]:
            if rule.get("health") != "ok" or rule.get("state", "inactive") != "inactive":
                error = rule.get("lastError", "")
                print(f"  {group['name']}/{rule['name']}: health={rule.get('health')} state={rule.get('state', '-')} {error}")

    print("---- Prometheus targets not up")
    body = get(prometheus + "/api/v1/targets")
    for target in (body or {}).get("data", {}).get("activeTargets", []):
        if target["health"] != "up":
            print(f"  {target['labels'].get('job')} {target['scrapeUrl']}: {target['health']} {target['lastError']}")

    print("---- Alertmanager /api/v2/alerts")
    for alert in get(alertmanager + "/api/v2/alerts") or []:
        print(f"  {alert['status']['state']:10} {alert['labels']['alertname']} {labels_of(alert)}")


def main():
    if sys.argv[1:2] == ["logs"]:
        count = int(sys.argv[2])
        for path in sys.argv[3:]:
            if os.path.getsize(path) > 0:
                print(f"---- tail of {os.path.basename(path)}")
                tail(path, count)
    elif sys.argv[1:2] == ["state"]:
        state(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
