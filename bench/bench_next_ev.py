"""Issue #10 item 9: how fast `freev2g evse` is back to Idle after an EV process is SIGKILLed
mid-charge, and that the next EV then charges.

One `freev2g evse` (speed 10, sim board, sqlite journal) serves ROUNDS EV processes that are
each killed with SIGKILL while charging, then one that charges to completion. Per kill (wall
clock, seconds after the kill): the session closed in the journal, the EVSE's "EV unplugged"
(Idle again) line, and the charger side read as de-energised (EVSE contactor open, 0 A, CP X1,
unlocked) by a probe on the socket. Figures only; nothing here is a test.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROUNDS = 5
RUN_CLI = "import sys; from freev2g.cli import main; main(sys.argv[1:])"


def rows(path: Path, sql: str) -> list[tuple]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:
        return []


def charger_side(sock: Path) -> dict | None:
    """The sim model's charger side, as pushed to a connected EV; None while refused."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5.0)
            s.connect(str(sock))
            s.sendall(b'{"ch":"board","op":"probe"}\n')
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return None  # another EV still connected
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    obj = json.loads(line)
                    if obj.get("ch") == "board" and obj.get("op") == "charger_side":
                        return obj["evse"]
    except OSError:
        return None


def wait(predicate, timeout_s: float = 60.0, step_s: float = 0.005):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    raise TimeoutError


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench_next_ev_"))
    sock, journal = tmp / "plc.sock", tmp / "journal.sqlite"
    (tmp / "station.toml").write_text(f'journal = "{journal}"\n[evse]\ncharge_mode = "DC"\n'
                                      'disable_authentication = true\n[board.options.sim.battery]\nsoc_pct = 30\n')
    (tmp / "car.toml").write_text("[battery]\nstart_soc_pct = 30\ntarget_soc_pct = 95\n")
    (tmp / "last.toml").write_text("[battery]\nstart_soc_pct = 30\ntarget_soc_pct = 40\n")
    evse = subprocess.Popen([sys.executable, "-c", RUN_CLI, "evse", "--config", str(tmp / "station.toml"),
                             "--socket", str(sock), "--speed", "10"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []
    threading.Thread(target=lambda: [lines.append((time.monotonic(), ln)) for ln in evse.stdout], daemon=True).start()
    figures: dict[str, list[float]] = {"journal closed": [], "Idle (EV unplugged)": [], "probe: de-energised": []}
    try:
        wait(lambda: any("ready on" in ln for _, ln in lines))
        for n in range(1, ROUNDS + 1):
            ev = subprocess.Popen([sys.executable, "-c", RUN_CLI, "ev", "--config", str(tmp / "car.toml"),
                                   "--socket", str(sock), "--speed", "10"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            wait(lambda: rows(journal, "SELECT COUNT(*) FROM sessions")[0][0] == n and rows(
                journal, "SELECT COUNT(*) FROM meter_values WHERE power_W > 10000 AND session_id=(SELECT session_id "
                         "FROM sessions ORDER BY rowid DESC LIMIT 1)")[0][0] >= 1)
            os.kill(ev.pid, signal.SIGKILL)
            t_kill = time.monotonic()
            ev.wait()
            wait(lambda: rows(journal, "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")[0][0] == 0)
            figures["journal closed"].append(time.monotonic() - t_kill)
            t_idle = wait(lambda: next((t for t, ln in lines if t >= t_kill and "EV unplugged" in ln), None))
            figures["Idle (EV unplugged)"].append(t_idle - t_kill)

            def off():
                st = charger_side(sock)
                return st is not None and not st["contactor"] and st["psu_A"] == 0.0 and st["generator"] == "x1" \
                    and not st["locked"]

            wait(off, step_s=0.0)
            figures["probe: de-energised"].append(time.monotonic() - t_kill)
        last = subprocess.run([sys.executable, "-c", RUN_CLI, "ev", "--config", str(tmp / "last.toml"), "--socket",
                               str(sock), "--speed", "10"], capture_output=True, text=True, timeout=300)
    finally:
        evse.send_signal(signal.SIGTERM)
        try:
            evse.wait(20)
        except subprocess.TimeoutExpired:
            evse.kill()
    causes = [c for (c,) in rows(journal, "SELECT stop_cause FROM sessions ORDER BY rowid")]
    print(f"{ROUNDS} EV processes SIGKILLed mid-charge against one `freev2g evse` (speed 10), wall-clock s after the kill:")
    for name, values in figures.items():
        print(f"  {name:22s}: median {statistics.median(values) * 1000:7.1f} ms, max {max(values) * 1000:7.1f} ms")
    print(f"  journal causes        : {causes}")
    print(f"  next EV after the kills: exit {last.returncode} ({'charged' if 'below 60 V, done' in last.stdout else 'FAILED'})")
    ok = last.returncode == 0 and causes == ["ev_unplugged"] * ROUNDS + ["ev_stop"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
