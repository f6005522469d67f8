"""The HTML of ``vbot status``: one self-contained page (inline CSS and SVG, no scripts)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

CHART_RUNS = 120


@dataclass(frozen=True)
class SweepPoint:
    date: str
    commit: str
    run_id: str | None
    checked: int
    new: int
    unchanged: int
    errors: int
    reverted: bool = False


@dataclass
class StatusData:
    head: str
    layout: str
    nodes: int
    outdated: list[tuple[str, str, str]] = field(default_factory=list)  # node, version, new
    dependents: dict[str, int] = field(default_factory=dict)  # outdated node -> dependents
    failures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # source -> nodes
    sweeps: list[SweepPoint] = field(default_factory=list)  # oldest first
    merges: int = 0
    reverts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"head": self.head, "nodes": self.nodes, "outdated": len(self.outdated),
                "failures": {k: len(v) for k, v in self.failures.items()},
                "sweeps": len(self.sweeps), "merges": self.merges, "reverts": self.reverts}


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;
border-bottom:1px solid #ddd}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.6em 1em;min-width:8em}.card b{display:block;font-size:1.8em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:2px 8px;
border-bottom:1px solid #eee;vertical-align:top}td.n{text-align:right}
.muted{color:#777}.bad{color:#b00020}.new{color:#1b7f3a}details{margin:.3em 0}
svg text{font:11px system-ui,sans-serif;fill:#444}
"""


def plural(count: int, word: str) -> str:
    """``1 sweep``, ``2 sweeps``, ``0 sweeps``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def chart_svg(points: list[SweepPoint], width: int = 940, height: int = 260) -> str:
    """New versions (green) and errors (red) per sweep as paired bars, oldest on the left."""
    points = points[-CHART_RUNS:]
    if not points:
        return '<p class="muted">No sweeps recorded yet.</p>'
    left, right, top, bottom = 44, 10, 12, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(1, *(max(p.new, p.errors) for p in points))
    slot = plot_w / len(points)
    bar = max(1.0, slot * 0.38)
    parts = [f'<svg role="img" aria-label="sweep history" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    for value in sorted({round(peak * i / 4) for i in range(5)}):
        y = top + plot_h - plot_h * value / peak
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, p in enumerate(points):
        x = left + i * slot + slot * 0.1
        fade = ' opacity="0.35"' if p.reverted else ""
        for offset, value, colour, label in ((0, p.new, "#2e9e55", "new"),
                                             (bar, p.errors, "#d33f49", "errors")):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"{fade}>'
                f'<title>{_e(p.date[:16])} {_e(p.run_id or p.commit[:10])}: {value} {label}'
                f'{" (reverted)" if p.reverted else ""}</title></rect>')
    step = max(1, len(points) // 6)
    for i in range(0, len(points), step):
        x = left + i * slot + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                     f'{_e(points[i].date[:10])}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="#999"/>')
    legend_y = height - 8
    parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="#2e9e55"/>'
                 f'<text x="{left + 14}" y="{legend_y}">new versions</text>'
                 f'<rect x="{left + 110}" y="{legend_y - 9}" width="10" height="10" '
                 f'fill="#d33f49"/><text x="{left + 124}" y="{legend_y}">errors</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(data: StatusData, title: str) -> str:
    failed = sum(len(v) for v in data.failures.values())
    cards = [("nodes", data.nodes, ""), ("outdated", len(data.outdated), "new"),
             ("failing", failed, "bad"), ("sweeps", len(data.sweeps), ""),
             ("merges", data.merges, ""), ("reverts", data.reverts, "")]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f'<p class="muted">{_e(data.layout)} layout, commit {_e(data.head[:12])}</p>',
           '<div class="cards">']
    out += [f'<div class="card" id="card-{k}"><b class="{c}">{v}</b>{k}</div>'
            for k, v, c in cards]
    out.append("</div>")

    out.append(f'<h2 id="outdated">Outdated nodes ({len(data.outdated)})</h2>')
    if data.outdated:
        out.append("<table><tr><th>node</th><th>version</th><th>new_version</th>"
                   '<th title="nodes that depend on it, directly or not">dependents</th></tr>')
        out += [f'<tr><td>{_e(n)}</td><td>{_e(v)}</td><td class="new">{_e(nv)}</td>'
                f'<td class="n dependents">{data.dependents.get(n, 0)}</td></tr>'
                for n, v, nv in data.outdated]
        out.append("</table>")
    else:
        out.append('<p class="muted">Every node is at its newest known version.</p>')

    out.append(f'<h2 id="failures">Failures by source ({failed})</h2>')
    if data.failures:
        out.append("<table><tr><th>source</th><th>nodes</th><th>affected</th></tr>")
        for source, rows in data.failures.items():
            items = "".join(f"<li><b>{_e(n)}</b>: {_e(r)}</li>" for n, r in rows)
            out.append(f'<tr class="source" data-source="{_e(source)}"><td>{_e(source)}</td>'
                       f'<td class="n">{len(rows)}</td><td><details><summary>'
                       f'{_e(", ".join(n for n, _ in rows[:8]))}{" …" if len(rows) > 8 else ""}'
                       f"</summary><ul>{items}</ul></details></td></tr>")
        out.append("</table>")
    else:
        out.append('<p class="muted">No upstream failures.</p>')

    out.append(f'<h2 id="history">Sweep history ({plural(len(data.sweeps), "sweep")})</h2>')
    out.append(chart_svg(data.sweeps))
    if data.sweeps:
        out.append("<table><tr><th>date</th><th>run</th><th>checked</th><th>new</th>"
                   "<th>unchanged</th><th>errors</th></tr>")
        for p in reversed(data.sweeps[-30:]):
            note = ' <span class="muted">(reverted)</span>' if p.reverted else ""
            out.append(f'<tr class="sweep"><td>{_e(p.date[:16].replace("T", " "))}</td>'
                       f"<td>{_e(p.run_id or p.commit[:10])}{note}</td>"
                       f'<td class="n">{p.checked}</td><td class="n">{p.new}</td>'
                       f'<td class="n">{p.unchanged}</td><td class="n">{p.errors}</td></tr>')
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)
