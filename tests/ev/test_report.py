"""Report pieces that need no simulation: the SVG plot and the session log formatting."""
from __future__ import annotations

import json
import xml.dom.minidom

from freev2g.clock import ManualClock
from freev2g.link import DCChargeLoopAnswer, EvChargeLoopStatus, EvLoopTargets, EvSessionFinished
from freev2g.model import StopCause
from freev2g.report import render_svg, series_from_samples, write_report
from freev2g.session_log import SessionLog, format_summary
from freev2g.simulate import SimulationResult


def _result(**kw):
    base = dict(energy_Wh=7_500.0, energy_export_Wh=0.0, duration_s=300.0, start_soc_pct=65.0, end_soc_pct=80.0,
                peak_power_W=76_000.0, stop_cause="ev_stop", protocol="iso2", mode="dc")
    base.update(kw)
    return SimulationResult(**base)


def test_svg_has_four_panels_and_is_well_formed():
    samples = [(t, 380.0 + t / 10, 200.0, (380.0 + t / 10) * 200.0, 65 + t / 20) for t in range(0, 300, 5)]
    svg = render_svg(series_from_samples(samples), title="a <test> & more")
    doc = xml.dom.minidom.parseString(svg)
    lines = doc.getElementsByTagName("polyline")
    assert len(lines) == 4
    assert all(len(p.getAttribute("points").split()) == 60 for p in lines)
    assert "a &lt;test&gt; &amp; more" in svg


def test_svg_without_data_says_so():
    svg = render_svg({})
    assert svg.count("no data") == 4
    xml.dom.minidom.parseString(svg)


def test_write_report(tmp_path):
    paths = write_report(tmp_path / "r", _result(journal_path=str(tmp_path / "j.sqlite")))
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["energy_Wh"] == 7_500.0 and summary["stop_cause"] == "ev_stop"
    assert summary["files"]["journal"].endswith("j.sqlite") and paths["plot"].endswith("plot.svg")
    xml.dom.minidom.parse(paths["plot"])


def test_summary_lines():
    text = "\n".join(format_summary(_result(scenario_error="scenario step 2 (wait_for): timeout")))
    assert "7.50 kWh" in text and "65.0 % -> 80.0 %" in text and "76.0 kW" in text and "scenario FAILED" in text


def test_session_log_throttles_loop_lines():
    clock = ManualClock()
    out = []
    log = SessionLog(out.append, clock, loop_every_s=10)
    for i in range(100):
        clock.advance(0.25)
        ans = DCChargeLoopAnswer(present_voltage_V=380, present_current_A=100)
        log.on_link(EvChargeLoopStatus(dc=ans), EvLoopTargets(target_voltage_V=400, target_current_A=100))
    loop_lines = [line for line in out if "CurrentDemandRes" in line]
    assert 2 <= len(loop_lines) <= 4
    log.on_link(EvChargeLoopStatus(dc=ans), EvLoopTargets(stop=True))
    assert "PowerDelivery(Stop)" in out[-1]
    log.on_link(EvSessionFinished(cause=StopCause.SOC_REACHED), None)
    assert "soc_reached" in out[-1]
