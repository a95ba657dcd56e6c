#!/usr/bin/env python3
"""Plot TLV walk time against input size from criterion's output, as an SVG.

    python3 benches/plot_tlv.py [CRITERION_DIR] [OUTPUT_SVG]

defaults: target/criterion and docs/tlv-walk.svg. Reads every benchmark of the `tlv/<input>`
groups (benches/benches/tlv.rs): `benchmark.json` for the group, function and throughput
(the input size in bytes), `new/estimates.json` for the median time. Draws one line per
implementation (cardwire's walks, the floor and the peers) on linear axes: the whole range on
the left, inputs up to 2 KiB on the right, where the card-sized inputs sit. An implementation
that rejects an input, or was not run on it, simply has no point there. Standard library only;
the SVG is written by hand.
"""

import json
import math
import os
import sys
from xml.sax.saxutils import escape

CRITERION = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
OUTPUT = sys.argv[2] if len(sys.argv) > 2 else "docs/tlv-walk.svg"

# Drawing order and colours; anything else found gets a grey line.
SERIES = [
    ("floor", "floor (no checks)", "#000000", "4 3"),
    ("cardwire-tlv", "cardwire-tlv (for_each)", "#d62728", ""),
    ("cardwire-tlv-for-loop", "cardwire-tlv (for loop)", "#ff7f0e", ""),
    ("cardwire-tlv-strict", "cardwire-tlv (strict)", "#8c564b", ""),
    ("cardwire-tlv-descendants", "cardwire-tlv (parse_all + descendants)", "#e377c2", ""),
    ("cardwire-tlv-find-deep", "cardwire-tlv (parse_all + find_deep)", "#bcbd22", ""),
    ("iso7816", "iso7816 0.2", "#1f77b4", "6 2"),
    ("asn1-rs", "asn1-rs 0.7", "#2ca02c", "6 2"),
    ("iso7816-tlv", "iso7816-tlv 0.4", "#9467bd", "6 2"),
    ("tlv_parser", "tlv_parser 0.10", "#17becf", "6 2"),
]


def load(root):
    """{function: {size_bytes: (median_ns, input_name)}} from criterion's tree."""
    data = {}
    for dirpath, _dirs, files in os.walk(root):
        if "benchmark.json" not in files or os.path.basename(dirpath) != "new":
            continue
        try:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
        except (OSError, ValueError):
            continue
        group = bench.get("group_id", "")
        if not group.startswith("tlv/"):
            continue
        size = (bench.get("throughput") or {}).get("Bytes")
        if not size:
            continue
        median = est.get("median", {}).get("point_estimate")
        if median is None:
            continue
        function = bench.get("function_id") or ""
        data.setdefault(function, {})[int(size)] = (float(median), group[4:])
    return data


def nice_step(span, ticks=5):
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns:.3g} ns"


def fmt_size(b):
    if b >= 1024 and b % 1024 == 0:
        return f"{b // 1024} KiB"
    return f"{b:g} B"


def panel(out, data, x0, y0, w, h, max_size, title):
    """One linear-axes panel at (x0, y0) of w x h with inputs up to max_size bytes."""
    points = {
        f: {s: v for s, v in pts.items() if s <= max_size} for f, pts in data.items()
    }
    sizes = sorted({s for pts in points.values() for s in pts})
    if not sizes:
        return
    xmax = max(sizes) * 1.05
    # The y range follows cardwire and the floor (up to 5x cardwire's slowest point); slower
    # points are clipped at the panel's edge and named under it, so that one superlinear
    # peer does not flatten every other line.
    ours = [v[0] for f, pts in points.items() if f.startswith("cardwire") or f == "floor"
            for v in pts.values()]
    every = [v[0] for pts in points.values() for v in pts.values()]
    cap = 5 * max(ours) if ours else max(every)
    ymax = max(t for t in every if t <= cap) * 1.05
    off = sorted((f, s, v[0]) for f, pts in points.items() for s, v in pts.items()
                 if v[0] > ymax)
    clip = f"clip{int(x0)}"
    out.append(f'<clipPath id="{clip}"><rect x="{x0}" y="{y0}" width="{w}" height="{h}"/>'
               '</clipPath>')
    xstep, ystep = nice_step(xmax), nice_step(ymax)

    def px(s):
        return x0 + s / xmax * w

    def py(t):
        return y0 + h - t / ymax * h

    out.append(f'<text x="{x0 + w / 2}" y="{y0 - 12}" text-anchor="middle" '
               f'font-weight="bold">{escape(title)}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>')
    t = 0.0
    while t <= ymax:
        y = py(t)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_time(t)}</text>')
        t += ystep
    s = 0.0
    while s <= xmax:
        x = px(s)
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h}" stroke="#f0f0f0"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + h + 16}" text-anchor="middle">'
                   f'{fmt_size(s)}</text>')
        s += xstep
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 36}" text-anchor="middle">'
               f'input size (bytes)</text>')
    out.append(f'<text x="{x0 - 62}" y="{y0 + h / 2}" text-anchor="middle" '
               f'transform="rotate(-90 {x0 - 62} {y0 + h / 2})">median time per walk</text>')
    for function, _label, colour, dash in styles(points):
        pts = sorted(points.get(function, {}).items())
        if not pts:
            continue
        path = " ".join(f"{px(s):.1f},{py(v[0]):.1f}" for s, v in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="1.6"{dash_attr} clip-path="url(#{clip})"/>')
        for s, (ns, name) in pts:
            out.append(f'<circle cx="{px(s):.1f}" cy="{py(ns):.1f}" r="2.6" fill="{colour}" '
                       f'clip-path="url(#{clip})">'
                       f'<title>{escape(function)} / {escape(name)} ({s} B): '
                       f'{escape(fmt_time(round(ns, 1)))}</title></circle>')


    if off:
        note = "off scale: " + ", ".join(f"{f} {fmt_time(t)} at {fmt_size(sz)}"
                                         for f, sz, t in off)
        out.append(f'<text x="{x0}" y="{y0 + h + 52}" font-size="9" fill="#555">'
                   f'{escape(note[:150])}</text>')


def styles(data):
    known = [s for s in SERIES if s[0] in data]
    others = sorted(f for f in data if f not in {s[0] for s in SERIES})
    return known + [(f, f, "#999999", "2 2") for f in others]


def main():
    data = load(CRITERION)
    if not data:
        sys.exit(f"plot_tlv: no tlv/* benchmarks under {CRITERION} "
                 "(run `cargo bench -p cardwire-benches --bench tlv` first)")
    width, height = 1100, 545
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        'BER-TLV full walk: time against input size (criterion medians, linear axes)</text>',
    ]
    panel(out, data, 90, 60, 400, 330, float("inf"), "all inputs")
    panel(out, data, 610, 60, 400, 330, 2048, "inputs up to 2 KiB")
    # Legend under the panels, two columns.
    entries = styles(data)
    for i, (_f, label, colour, dash) in enumerate(entries):
        col, row = i % 3, i // 3
        x, y = 90 + col * 340, 470 + row * 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="{colour}" '
                   f'stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{x + 32}" y="{y}">{escape(label)}</text>')
    out.append("</svg>")
    os.makedirs(os.path.dirname(OUTPUT) or ".", exist_ok=True)
    with open(OUTPUT, "w") as f:
        f.write("\n".join(out) + "\n")
    count = sum(len(v) for v in data.values())
    print(f"plot_tlv: {count} points of {len(data)} implementations -> {OUTPUT}")


if __name__ == "__main__":
    main()
