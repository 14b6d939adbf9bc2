#!/usr/bin/env python3
"""Renders a `make bench` result as an SVG chart (Python standard library only).

  chart.py RESULT.json            writes RESULT.svg beside it
  chart.py RESULT.json --stdout   prints the SVG (the docs tests compare it with the committed file)

bench.py calls render() for every run, so the README's picture always comes from a result JSON,
never from hand. Bars: saturated throughput per scenario, with the target line at 75% of the bare
endpoint; labels: p99 saturated and, where measured, p99 at half load.
"""
import json
import os
import sys
from xml.sax.saxutils import escape

# (scenario key, label); scenarios missing from a result (--quick runs) are left out.
SCENARIOS = [
    ("bare_livez", "bare /livez (baseline)"),
    ("hot_redirect", "hot redirect (one code)"),
    ("warm_redirect", "warm redirect (100k codes)"),
    ("cold_redirect", "cold redirect (caches off)"),
    ("mixed_95_5", "mixed 95% redirect / 5% create"),
    ("stats_read", "stats read"),
    ("create_link", "create link"),
]

WIDTH, LABEL_W, BAR_H, GAP, TOP, RIGHT = 900, 230, 26, 12, 70, 250


def _number(value):
    return f"{value:,.0f}"


def render(result):
    """The SVG for one result dict, deterministic for the same input."""
    scenarios = result["scenarios"]
    rows = [(key, label, scenarios[key]) for key, label in SCENARIOS if key in scenarios]
    if not rows:
        raise ValueError("no known scenario in this result")
    top_rps = max(s["rps"] for _, _, s in rows)
    plot_w = WIDTH - LABEL_W - RIGHT
    scale = plot_w / top_rps
    height = TOP + len(rows) * (BAR_H + GAP) + 50
    machine = result.get("machine", {})
    subtitle = (
        f"{result.get('date', '')[:10]} · commit {result.get('git_sha', '')[:7]} · {machine.get('nproc', '?')} vCPUs · "
        f"wrk -t2 -c64 on the same machine · {result.get('mode', '')} run"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="DejaVu Sans, Verdana, sans-serif" font-size="13">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        '<text x="16" y="26" font-size="17" font-weight="bold" fill="#1f2328">'
        "make bench: requests per second, saturated (p99 saturated / at half load)</text>",
        f'<text x="16" y="48" fill="#57606a">{escape(subtitle)}</text>',
    ]
    for i, (key, label, s) in enumerate(rows):
        y = TOP + i * (BAR_H + GAP)
        w = max(1.0, s["rps"] * scale)
        colour = "#8c959f" if key == "bare_livez" else "#0969da"
        p99 = f"p99 {s['p99_ms']:.1f} ms" if "p99_ms" in s else ""
        half = scenarios.get(key + "_at_half_load")
        if half and "p99_ms" in half:
            p99 += f" / {half['p99_ms']:.1f} ms"
        out.append(f'<text x="{LABEL_W - 10}" y="{y + BAR_H * 0.68:.1f}" text-anchor="end" fill="#1f2328">{escape(label)}</text>')
        out.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{colour}"/>')
        out.append(
            f'<text x="{LABEL_W + w + 8:.1f}" y="{y + BAR_H * 0.68:.1f}" fill="#1f2328">'
            f'<tspan font-weight="bold">{_number(s["rps"])}</tspan> <tspan fill="#57606a">{escape(p99)}</tspan></text>'
        )
    if "bare_livez" in scenarios:
        x = LABEL_W + 0.75 * scenarios["bare_livez"]["rps"] * scale
        bottom = TOP + len(rows) * (BAR_H + GAP) - GAP
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{bottom + 6}" stroke="#cf222e" stroke-dasharray="5,4"/>')
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 24}" text-anchor="middle" fill="#cf222e">'
            "75% of bare /livez: the hot redirect's target</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    path = argv[0]
    with open(path, encoding="utf-8") as f:
        svg = render(json.load(f))
    if "--stdout" in argv[1:]:
        sys.stdout.write(svg)
        return
    target = os.path.splitext(path)[0] + ".svg"
    with open(target, "w", encoding="utf-8") as f:
        f.write(svg)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
