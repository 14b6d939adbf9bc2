#!/usr/bin/env python3
"""What Alertmanager's /api/v2/alerts says about one alert (Python standard library only).

  alert_state.py ALERTMANAGER_URL ALERTNAME [LABEL=VALUE ...]

Prints one word for the alerts matching every given label (resolved alerts are not listed by the
API, so a resolved alert is "absent"):
  active       at least one matching alert is active (neither inhibited nor silenced)
  inhibited    every match is suppressed by an inhibition rule only (the source alert is active)
  silenced     a match is suppressed by a silence
  absent       no match
  error        Alertmanager did not answer
"""

import json
import sys
import urllib.request


def main():
    url, name, *pairs = sys.argv[1:]
    want = dict(pair.split("=", 1) for pair in pairs)
    want["alertname"] = name
    try:
        alerts = json.load(urllib.request.urlopen(url + "/api/v2/alerts", timeout=5))
    except (OSError, ValueError):
        print("error")
        return
    found = [a for a in alerts if all(a["labels"].get(k) == v for k, v in want.items())]
    states = set()
    for alert in found:
        status = alert["status"]
        if status.get("silencedBy"):
            states.add("silenced")
        elif status.get("inhibitedBy"):
            states.add("inhibited")
        elif status.get("state") == "active":
            states.add("active")
    for state in ("active", "silenced", "inhibited"):
        if state in states:
            print(state)
            return
    print("absent")


if __name__ == "__main__":
    main()
