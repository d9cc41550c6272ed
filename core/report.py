"""Simulation report: summary.json, plot.svg (power, voltage, current, SoC over time, drawn by
this module: no plotting library) and the journal (sqlite, written by the station).

Series come from the EV's view of the charge loop (present voltage/current from each loop
response, SoC from the battery) and the EVSE's MeterSample events for power when present.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape

import attrs

Series = list[tuple[float, float]]

_PANELS = (
    ("power", "Power", "kW", "#d62728"),
    ("voltage", "Voltage", "V", "#1f77b4"),
    ("current", "Current", "A", "#2ca02c"),
    ("soc", "SoC", "%", "#9467bd"),
)


def series_from_samples(samples: Sequence[tuple[float, float, float, float, float]]) -> dict[str, Series]:
    """EvController.samples (t_s, V, A, W, SoC) -> named series (power in kW)."""
    out: dict[str, Series] = {"power": [], "voltage": [], "current": [], "soc": []}
    for t, v, a, w, soc in samples:
        out["power"].append((t, w / 1000.0))
        out["voltage"].append((t, v))
        out["current"].append((t, a))
        out["soc"].append((t, soc))
    return out


def _downsample(points: Series, limit: int = 1500) -> Series:
    if len(points) <= limit:
        return points
    step = len(points) / limit
    picked = [points[int(i * step)] for i in range(limit)]
    picked.append(points[-1])
    return picked


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = (lo // step) * step
    ticks, x = [], first
    while x <= hi + step * 1e-6:
        if x >= lo - step * 1e-6:
            ticks.append(round(x, 6))
        x += step
    return ticks


def render_svg(series: dict[str, Series], *, title: str = "freev2g simulation", width: int = 900) -> str:
    """Four stacked panels sharing the time axis; returns the SVG document."""
    panel_h, top, left, right, gap = 150, 40, 70, 20, 30
    height = top + len(_PANELS) * (panel_h + gap) + 20
    plot_w = width - left - right
    times = [t for s in series.values() for t, _ in s]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    if t1 <= t0:
        t1 = t0 + 1.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for i, (key, label, unit, colour) in enumerate(_PANELS):
        y0 = top + i * (panel_h + gap)
        pts = _downsample(series.get(key, []))
        values = [v for _, v in pts]
        lo, hi = (min(values + [0.0]), max(values + [0.0])) if values else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        ticks = _nice_ticks(lo, hi)
        lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])

        def sx(t: float) -> float:
            return left + (t - t0) / (t1 - t0) * plot_w

        def sy(v: float, lo=lo, hi=hi, y0=y0) -> float:
            return y0 + panel_h - (v - lo) / (hi - lo) * panel_h

        out.append(f'<rect x="{left}" y="{y0}" width="{plot_w}" height="{panel_h}" fill="none" stroke="#888"/>')
        out.append(f'<text x="{left + 4}" y="{y0 - 6}" font-size="12">{escape(label)} [{unit}]</text>')
        for tick in ticks:
            y = sy(tick)
            out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
        if pts:
            path = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in pts)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        else:
            out.append(f'<text x="{left + plot_w / 2}" y="{y0 + panel_h / 2}" text-anchor="middle" fill="#888">no data</text>')
    y_axis = top + len(_PANELS) * (panel_h + gap) - gap
    for tick in _nice_ticks(t0, t1, 8):
        x = left + (tick - t0) / (t1 - t0) * plot_w
        out.append(f'<text x="{x:.1f}" y="{y_axis + 14}" text-anchor="middle">{tick:g}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{y_axis + 28}" text-anchor="middle">time [s]</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_report(report_dir: str | Path, result: Any, sim: Any = None) -> dict[str, str]:
    """summary.json + plot.svg into `report_dir`; returns the paths written."""
    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    summary = attrs.asdict(result)
    summary["session_ids"] = list(result.session_ids)
    samples = list(getattr(getattr(sim, "ev", None), "samples", []) or [])
    series = series_from_samples(samples)
    if sim is not None and not any(w for _, w in series["power"]):
        from .model import events as sev

        series["power"] = [(t, e.power_W / 1000.0) for e, t in zip(sim.events, sim.event_times) if isinstance(e, sev.MeterSample)]
    paths = {"summary": str(d / "summary.json"), "plot": str(d / "plot.svg")}
    if result.journal_path:
        paths["journal"] = str(result.journal_path)
    summary["files"] = paths
    Path(paths["summary"]).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    title = f"freev2g {result.protocol} {result.mode}: {result.energy_Wh / 1000:.2f} kWh, stop {result.stop_cause}"
    Path(paths["plot"]).write_text(render_svg(series, title=title), encoding="utf-8")
    return paths
