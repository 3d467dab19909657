"""Charts for the report, drawn by matplotlib as SVG and embedded as ``data:`` images.

As images they work under the page's Content-Security-Policy (no inline
style or script needed) and inside the self-contained ``report.html``
alike. Only the object-oriented API is used (``Figure``, no ``pyplot``): no
global state, safe in a server's threads, no display backend.
"""

from __future__ import annotations

import base64
import io

import matplotlib
from matplotlib.figure import Figure

from web.report import Report

matplotlib.rcParams.update({"svg.hashsalt": "imgpipe", "svg.fonttype": "none", "font.size": 9,
                            "axes.spines.top": False, "axes.spines.right": False})
INK, ACCENT, MUTED = "#1f2937", "#2563eb", "#9ca3af"
STATUS_COLOURS = {"classified": "#16a34a", "needs_review": "#d97706", "rejected": "#dc2626", "failed": "#7f1d1d",
                  "duplicate": "#6b7280", "gold": "#ca8a04", "bronze": "#92400e"}


def _svg(fig: Figure) -> str:
    out = io.BytesIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _hbar(items: dict[str, int], title: str, colours: dict[str, str] | None = None) -> str:
    names = list(items)[::-1] or ["(none)"]
    values = [items[n] for n in names] if items else [0]
    fig = Figure(figsize=(5, 0.35 * len(names) + 0.9))
    ax = fig.add_subplot()
    ax.barh(names, values, color=[(colours or {}).get(n, ACCENT) for n in names])
    for y, v in enumerate(values):
        ax.annotate(str(v), (v, y), xytext=(3, 0), textcoords="offset points", va="center", color=INK)
    ax.set_title(title, loc="left", color=INK)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return _svg(fig)


def status_chart(report: Report) -> str:
    return _hbar({k: v for k, v in report.counts.items() if v}, "Records per status", STATUS_COLOURS)


def category_chart(report: Report) -> str:
    return _hbar(report.categories, "Records per category (classified or waiting for review)")


def throughput_chart(report: Report, days: int = 30) -> str:
    rows = report.daily[-days:]
    fig = Figure(figsize=(7, 2.6))
    ax = fig.add_subplot()
    labels = [d[5:] for d, _, _ in rows] or ["(none)"]
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], [u for _, u, _ in rows] or [0], width=0.4, label="uploaded", color=MUTED)
    ax.bar([i + 0.2 for i in x], [g for _, _, g in rows] or [0], width=0.4, label="reached gold", color=ACCENT)
    ax.set_xticks(list(x), labels, rotation=45 if len(labels) > 10 else 0, ha="right" if len(labels) > 10 else "center")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Daily throughput (UTC)", loc="left", color=INK)
    ax.set_xlim(-0.8, max(len(labels), 10) - 0.2)  # a first day's bars stay bars, not a wall
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return _svg(fig)


def charts(report: Report) -> dict[str, str]:
    return {"status": status_chart(report), "category": category_chart(report),
            "throughput": throughput_chart(report)}
