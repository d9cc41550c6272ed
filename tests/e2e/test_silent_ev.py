"""Safety issue #10 item 1, two processes: `freev2g evse` + `freev2g ev` over virtual_plc's
unix-socket medium; the EV process is frozen with SIGSTOP in the charge loop (its socket stays
open, so the link sees no loss). The EVSE must de-energise on its own charge-loop watch.

Real processes, real socket, real sim board model (in the EVSE process) and real sqlite journal.
The EVSE's physical state is read from what it journals: the sim meter's sample taken when the
session is closed (after the contactor opened) and the sample before, while charging; the EVSE
process is a separate process, so its model cannot be read directly.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

RUN_CLI = "import sys; from freev2g.cli import main; main(sys.argv[1:])"
SPEED = 10.0


class Lines:
    """A process's stdout lines with the wall time they arrived, read in a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.q: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc) -> None:
        for line in proc.stdout:
            self.q.put((time.monotonic(), line))
        self.q.put((time.monotonic(), None))

    def wait_for(self, text: str, timeout_s: float) -> float:
        end = time.monotonic() + timeout_s
        while True:
            try:
                at, line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout_s} s:\n" + "".join(self.seen[-40:])) from None
            if line is None:
                raise AssertionError(f"process ended before {text!r}:\n" + "".join(self.seen[-40:]))
            self.seen.append(line)
            if text in line:
                return at


def run_frozen_ev(tmp_path, evse_extra: str = "", finish_within_s: float = 30.0) -> tuple[float, object, list]:
    """Charge, SIGSTOP the EV in the charge loop; returns (sim seconds from the freeze to the
    EVSE's 'session finished', journal summary, meter samples)."""
    from freev2g.journal import Journal

    sock = tmp_path / "plc.sock"
    journal = tmp_path / "journal.sqlite"
    station = tmp_path / "station.toml"
    station.write_text(f'journal = "{journal}"\n'
                       f'[evse]\ncharge_mode = "DC"\ndisable_authentication = true\n{evse_extra}'
                       '[board.options.sim.battery]\nsoc_pct = 30\n')
    car = tmp_path / "car.toml"
    car.write_text("[battery]\nstart_soc_pct = 30\ntarget_soc_pct = 90\n")
    evse = subprocess.Popen([sys.executable, "-c", RUN_CLI, "evse", "--config", str(station), "--socket", str(sock),
                             "--speed", str(SPEED), "--sessions", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    ev = None
    try:
        out = Lines(evse)
        out.wait_for("ready on", 30.0)
        ev_log = open(tmp_path / "ev.log", "w")
        ev = subprocess.Popen([sys.executable, "-c", RUN_CLI, "ev", "--config", str(car), "--socket", str(sock),
                               "--speed", str(SPEED)], stdout=ev_log, stderr=subprocess.STDOUT)
        ev_log.close()
        try:
            out.wait_for("-> Charging", 60.0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nEV process output:\n{(tmp_path / 'ev.log').read_text()}") from None
        time.sleep(12.0 / SPEED)  # 12 s of charge loop in sim time (a meter sample every 10 s)
        os.kill(ev.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        finished_at = out.wait_for("session finished", finish_within_s)
        evse.wait(timeout=30)
    finally:
        if ev is not None:
            try:
                os.kill(ev.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            ev.kill()
            ev.wait()
        if evse.poll() is None:
            evse.kill()
            evse.wait()
    j = Journal(journal)
    [summary] = j.sessions()
    return (finished_at - frozen_at) * SPEED, summary, j.meter_values(summary.session_id)


@pytest.mark.slow
def test_frozen_ev_process_is_cut_off_by_the_evse(tmp_path, capsys):
    sim_s, summary, samples = run_frozen_ev(tmp_path)
    with capsys.disabled():
        print(f"\n[measure] two processes, EV SIGSTOPped: EVSE session finished {sim_s * 1000:.0f} ms sim time "
              f"after the freeze (wall time x speed {SPEED:g})")
    assert summary.stop_cause == "link_timeout", summary
    assert summary.stop_detail == "no charge-loop request for 1000 ms", summary.stop_detail
    charging = [s for s in samples if s.current_A is not None and s.current_A > 10.0]
    assert charging, "the EV never drew current before the freeze"
    last = samples[-1]  # taken when the session was closed, after power off
    assert last.current_A == 0.0 and last.power_W == 0.0, last
