"""`freev2g evse` and `freev2g ev` as two real processes joined by virtual_plc's socket medium."""
from __future__ import annotations

import subprocess
import sys

import pytest

RUN_CLI = "import sys; from freev2g.cli import main; main(sys.argv[1:])"


@pytest.mark.slow
def test_charger_and_car_in_two_processes(tmp_path):
    sock = tmp_path / "plc.sock"
    station = tmp_path / "station.toml"
    station.write_text(f'journal = "{tmp_path / "journal.sqlite"}"\n'
                       '[evse]\ncharge_mode = "DC"\ndisable_authentication = true\n'
                       '[board.options.sim.battery]\nsoc_pct = 78\n')
    car = tmp_path / "car.toml"
    car.write_text("[battery]\nstart_soc_pct = 78\ntarget_soc_pct = 80\n")
    evse = subprocess.Popen([sys.executable, "-c", RUN_CLI, "evse", "--config", str(station), "--socket", str(sock),
                             "--speed", "10", "--sessions", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        head = []
        for line in evse.stdout:  # wait until the charger listens
            head.append(line)
            if "ready on" in line:
                break
        ev = subprocess.run([sys.executable, "-c", RUN_CLI, "ev", "--config", str(car), "--socket", str(sock),
                             "--speed", "10"], capture_output=True, text=True, timeout=120)
        evse_out, _ = evse.communicate(timeout=60)
        evse_out = "".join(head) + evse_out
    finally:
        if evse.poll() is None:
            evse.kill()
    assert ev.returncode == 0, ev.stdout + ev.stderr
    assert '"Session started": protocol iso2' in ev.stdout and "below 60 V, done" in ev.stdout
    assert evse.returncode == 0, evse_out
    assert "EVSE: session finished, cause ev_stop" in evse_out
    from freev2g.journal import Journal

    sessions = Journal(tmp_path / "journal.sqlite").sessions()
    assert len(sessions) == 1 and sessions[0].stop_cause == "ev_stop" and sessions[0].energy_import_Wh > 0


def test_ev_without_an_evse_process_says_so_in_one_line(tmp_path):
    """`freev2g ev` started before (or without) `freev2g evse`: a one-line error naming the socket
    and the command that listens on it, exit status 1, no traceback and no asyncio noise."""
    sock = tmp_path / "nobody.sock"
    ev = subprocess.run([sys.executable, "-c", RUN_CLI, "ev", "--socket", str(sock)],
                        capture_output=True, text=True, timeout=60)
    assert ev.returncode == 1, ev.stdout + ev.stderr
    assert f"error: no EVSE listening on {sock}; start `freev2g evse --socket {sock}` first" in ev.stderr
    assert "Traceback" not in ev.stdout + ev.stderr
    assert "never retrieved" not in ev.stderr and "not delivered" not in ev.stderr, ev.stderr
