"""Issue #10 item 9: `freev2g evse` keeps serving one EV process after another. An EV process
that exits or is killed (SIGKILL, mid-charge) counts as an unplug: the station de-energises,
closes the session, returns to Idle, and the next `freev2g ev` charges against the same EVSE
process.

Real processes on a real unix socket (virtual_plc's socket medium), the real sim board in the
EVSE process, a real sqlite journal. The sim board's charger side is read from outside by a
probe client on the same socket: the board server answers a "probe" command with the model's
charger side (EVSE contactor, CP generator, supply current, lock).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

RUN_CLI = "import sys; from freev2g.cli import main; main(sys.argv[1:])"
SPEED = "5"  # the EV's 0.25 s message timeouts are 50 ms of wall time: room on a loaded machine


class EvseProcess:
    def __init__(self, args: list[str]):
        self.proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, "evse", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip()))

    def wait_line(self, text: str, after: float = 0.0, timeout_s: float = 60.0) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for t, line in list(self.lines):
                if t >= after and text in line:
                    return t
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"EVSE never printed {text!r}:\n" + self.output())

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)


def rows(path, sql: str) -> list[tuple]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.OperationalError:
        return []
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def wait_for(predicate, what: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def charger_side(sock_path) -> dict:
    """Connect as an EV would (no plug-in), read the sim model's charger side, disconnect."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10.0)
        s.connect(str(sock_path))
        s.sendall(b'{"ch":"board","op":"probe"}\n')
        buf = b""
        while True:
            chunk = s.recv(65536)
            assert chunk, "the EVSE closed the probe connection (another EV still connected?)"
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                obj = json.loads(line)
                if obj.get("ch") == "board" and obj.get("op") == "charger_side":
                    return obj["evse"]


def de_energised(sock_path) -> dict | None:
    state = charger_side(sock_path)
    ok = (not state["contactor"] and state["psu_A"] == 0.0 and state["generator"] == "x1"
          and state["duty_pct"] == 100.0 and not state["locked"])
    return state if ok else None


def run_ev(sock, car, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN_CLI, "ev", "--config", str(car), "--socket", str(sock),
                           "--speed", SPEED], capture_output=True, text=True, timeout=timeout_s)


@pytest.mark.slow
def test_one_ev_process_after_another_including_one_killed_mid_charge(tmp_path):
    sock = tmp_path / "plc.sock"
    journal = tmp_path / "journal.sqlite"
    station = tmp_path / "station.toml"
    station.write_text(f'journal = "{journal}"\n'
                       '[evse]\ncharge_mode = "DC"\ndisable_authentication = true\n'
                       '[board.options.sim.battery]\nsoc_pct = 78\n')
    cars = {}
    for name, target in (("first", 80), ("killed", 95), ("third", 82)):
        cars[name] = tmp_path / f"{name}.toml"
        cars[name].write_text(f"[battery]\nstart_soc_pct = 78\ntarget_soc_pct = {target}\n")
    evse = EvseProcess(["--config", str(station), "--socket", str(sock), "--speed", SPEED])
    try:
        evse.wait_line("ready on")

        # 1. An EV charges to its target and its process exits.
        first = run_ev(sock, cars["first"])
        assert first.returncode == 0, first.stdout + first.stderr
        evse.wait_line("EVSE: EV unplugged")
        assert wait_for(lambda: de_energised(sock), "the charger de-energised after the first EV")

        # 2. The next EV starts charging; its process is killed with SIGKILL mid-charge.
        killed = subprocess.Popen([sys.executable, "-c", RUN_CLI, "ev", "--config", str(cars["killed"]), "--socket",
                                   str(sock), "--speed", SPEED], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: len(rows(journal, "SELECT 1 FROM sessions")) == 2 and rows(
                journal, "SELECT COUNT(*) FROM meter_values WHERE session_id=(SELECT session_id FROM sessions "
                         "ORDER BY rowid DESC LIMIT 1) AND power_W > 10000")[0][0] >= 1,
                     "the second EV charging")
            os.kill(killed.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            killed.wait(10)
        finally:
            if killed.poll() is None:
                killed.kill()
                killed.wait()
        assert killed.returncode == -signal.SIGKILL
        evse.wait_line("EVSE: EV unplugged", after=killed_at)
        state = wait_for(lambda: de_energised(sock), "the charger de-energised after the kill")
        assert state["psu_A"] == 0.0 and not state["contactor"]
        (sid2, cause2, open2) = rows(journal, "SELECT session_id, stop_cause, ended_at IS NULL FROM sessions "
                                              "ORDER BY rowid")[1]
        assert cause2 == "ev_unplugged" and not open2

        # 3. A third EV charges to completion against the same EVSE process.
        third_started = time.monotonic()
        third = run_ev(sock, cars["third"])
        assert third.returncode == 0, third.stdout + third.stderr
        assert "below 60 V, done" in third.stdout
        evse.wait_line("EVSE: EV unplugged", after=third_started)
        assert wait_for(lambda: de_energised(sock), "the charger de-energised after the third EV")
    finally:
        if evse.proc.poll() is None:
            evse.proc.send_signal(signal.SIGTERM)
            try:
                evse.proc.wait(20)
            except subprocess.TimeoutExpired:
                evse.proc.kill()
                evse.proc.wait()
    assert evse.proc.returncode == 0, evse.output()
    sessions = rows(journal, "SELECT session_id, stop_cause, energy_import_Wh, ended_at IS NOT NULL FROM sessions "
                             "ORDER BY rowid")
    assert [s[1] for s in sessions] == ["ev_stop", "ev_unplugged", "ev_stop"], sessions
    assert all(s[3] for s in sessions) and all(s[2] > 0 for s in sessions), sessions
    faults = rows(journal, f"SELECT data FROM events WHERE session_id='{sid2}' AND kind='FaultRaised'")
    assert any(json.loads(d)["cause"] == "link_lost" for (d,) in faults)  # the lost link is on record too
    assert "Traceback" not in evse.output()
