"""Run Josev's SECC and EVCC (iso15118 0.31.1 in .venv-josev) as subprocesses inside network
namespaces, with their settings, and capture their logs.

Josev's settings (read from its source, iso15118/secc/secc_settings.py, evcc/evcc_settings.py,
evcc/evcc_config.py, shared/settings.py) come from environment variables (or a .env in the
working directory; each run gets an empty working directory, so only what we set counts):
  both:  NETWORK_INTERFACE, LOG_LEVEL, MESSAGE_LOG_JSON, MESSAGE_LOG_EXI, PKI_PATH, ENABLE_TLS_1_3
  SECC:  PROTOCOLS, AUTH_MODES, SECC_ENFORCE_TLS, FREE_CHARGING_SERVICE, STANDBY_ALLOWED, ...
  EVCC:  EVCC_CONFIG_PATH -> a JSON file (supportedProtocols, supportedEnergyServices,
         energyTransferMode, useTls, enforceTls, isCertInstallNeeded, chargeLoopCycle, ...)
The SECC runs until stopped (SIGINT); the EVCC exits by itself after SessionStop (and hangs
after giving up on SDP, which run_pair detects in its log).

Both start through josev_launch.py, which scales Josev's per-message receive timeouts by
TIMEOUT_SCALE (Josev's Java codec is too slow on a loaded 2-core machine for a 0.25 s
CurrentDemandRes timeout between two Josev processes); pass timeout_scale=1 for Josev as is.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from josev_log import LoggedMessage, parse_josev_log
from josev_netns import veth_link
from josev_wire import Capture

LAUNCHER = Path(__file__).with_name("josev_launch.py")
TIMEOUT_SCALE = 4.0
# Josev's EVCC logs one of these and then idles forever instead of exiting.
EVCC_GAVE_UP = ("maximum number of SDP retry cycles", "when trying to connect to host")
from josev_oracle import josev_python, josev_venv

# Josev's Protocol enum names (PROTOCOLS / supportedProtocols).
DIN = "DIN_SPEC_70121"
ISO2 = "ISO_15118_2"
ISO20_AC = "ISO_15118_20_AC"
ISO20_DC = "ISO_15118_20_DC"


@attrs.frozen
class SeccSettings:
    protocols: tuple[str, ...] = (DIN,)
    auth_modes: tuple[str, ...] = ("EIM",)
    enforce_tls: bool = False
    free_charging: bool = False
    extra: dict[str, str] = attrs.field(factory=dict)

    def env(self) -> dict[str, str]:
        return {
            "PROTOCOLS": ",".join(self.protocols), "AUTH_MODES": ",".join(self.auth_modes),
            "SECC_ENFORCE_TLS": str(self.enforce_tls), "FREE_CHARGING_SERVICE": str(self.free_charging),
            **self.extra,
        }


@attrs.frozen
class EvccSettings:
    protocols: tuple[str, ...] = (DIN,)
    energy_services: tuple[str, ...] = ("DC",)  # -20 ServiceV20 names: AC, DC, AC_BPT, DC_BPT
    energy_transfer_mode: str = "DC_extended"  # DIN / -2 EnergyTransferModeEnum value
    use_tls: bool = False
    enforce_tls: bool = False
    charge_loop_cycles: int = 3
    # seconds between Josev's charge-loop requests (its chargeLoopDelay: whole seconds, <= 50).
    # 0 = back to back: its simulated EV then reaches SoC 100 % within a fraction of a second.
    charge_loop_delay_s: int = 0
    extra: dict[str, Any] = attrs.field(factory=dict)  # more EVCC config file keys
    env: dict[str, str] = attrs.field(factory=dict)  # shared settings, e.g. ENABLE_TLS_1_3

    def config(self) -> dict[str, Any]:
        return {
            "supportedProtocols": list(self.protocols), "supportedEnergyServices": list(self.energy_services),
            "energyTransferMode": self.energy_transfer_mode, "useTls": self.use_tls,
            "enforceTls": self.enforce_tls, "isCertInstallNeeded": False,
            "chargeLoopCycle": self.charge_loop_cycles, "chargeLoopDelay": self.charge_loop_delay_s,
            **self.extra,
        }


def common_env(iface: str, pki_path: Path | None, timeout_scale: float = TIMEOUT_SCALE) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    env.update({
        "NETWORK_INTERFACE": iface, "LOG_LEVEL": "DEBUG", "MESSAGE_LOG_JSON": "True",
        "MESSAGE_LOG_EXI": "True", "PYTHONUNBUFFERED": "1", "JOSEV_TIMEOUT_SCALE": str(timeout_scale),
    })
    if pki_path is not None:
        env["PKI_PATH"] = str(pki_path).rstrip("/") + "/"
    return env


def make_pki(dest: Path, version: str = "iso-2") -> Path:
    """Run Josev's own PKI script (shared/pki/create_certs.sh) in a copy under `dest`; returns the
    PKI_PATH to give Josev. Test keys only, generated per run, never committed."""
    src = next(josev_venv().glob("lib/python*/site-packages/iso15118/shared/pki"))
    shutil.copytree(src, dest, dirs_exist_ok=True)
    proc = subprocess.run(["bash", "create_certs.sh", "-v", version], cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Josev's create_certs.sh -v {version} failed: {proc.stderr.strip()[-300:]}")
    return dest


@attrs.define
class JosevProcess:
    """One Josev SECC or EVCC inside a network namespace; its stdout+stderr go to `log_path`."""
    role: str  # "secc" | "evcc"
    ns: str
    env: dict[str, str]
    run_dir: Path
    proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"{self.role}.log"

    def start(self) -> "JosevProcess":
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            # `ip netns exec` execs the interpreter, so proc.pid is Josev's own process; a new
            # session lets stop() reach the JVM that py4j starts as its child.
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, str(josev_python()), str(LAUNCHER), self.role],
                cwd=self.run_dir, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def messages(self) -> list[LoggedMessage]:
        return parse_josev_log(self.log_text())

    def wait_for_log(self, needle: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while needle not in self.log_text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"Josev {self.role} exited ({self.proc.returncode}) before logging "
                                   f"{needle!r}; log {self.log_path}:\n{self.log_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Josev {self.role} did not log {needle!r} within {timeout_s:.0f} s; "
                                   f"log {self.log_path}")
            time.sleep(0.05)

    def wait(self, timeout_s: float, gave_up: tuple[str, ...] = ()) -> int:
        """The exit status; raises if the process is still running after timeout_s or logs one
        of `gave_up` (then it is stopped, and the error quotes that log line)."""
        deadline = time.monotonic() + timeout_s
        while (rc := self.proc.poll()) is None:
            text = self.log_text() if gave_up else ""
            if any(needle in text for needle in gave_up):
                self.stop()
                line = next(ln for ln in text.splitlines() if any(n in ln for n in gave_up))
                raise RuntimeError(f"Josev {self.role} gave up: {line[:300]}; log {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Josev {self.role} still running after {timeout_s:.0f} s; log {self.log_path}")
            time.sleep(0.1)
        return rc

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def start_secc(ns: str, iface: str, settings: SeccSettings, run_dir: Path,
               pki_path: Path | None = None, timeout_scale: float = TIMEOUT_SCALE) -> JosevProcess:
    env = {**common_env(iface, pki_path, timeout_scale), **settings.env()}
    proc = JosevProcess("secc", ns, env, run_dir / "secc").start()
    proc.wait_for_log("UDP server started at address", timeout_s=60)
    return proc


def start_evcc(ns: str, iface: str, settings: EvccSettings, run_dir: Path,
               pki_path: Path | None = None, timeout_scale: float = TIMEOUT_SCALE) -> JosevProcess:
    cfg = run_dir / "evcc" / "evcc_config.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps(settings.config(), indent=1))
    env = {**common_env(iface, pki_path, timeout_scale), **settings.env, "EVCC_CONFIG_PATH": str(cfg)}
    return JosevProcess("evcc", ns, env, run_dir / "evcc").start()


@attrs.frozen
class PairRun:
    """A Josev EVCC <-> Josev SECC session across two namespaces, after both processes ended."""
    evcc_rc: int
    secc: list[LoggedMessage]
    evcc: list[LoggedMessage]
    run_dir: Path
    capture: Path  # every IPv6 frame on the EVCC's interface (josev_wire.read_capture)

    def names(self, side: str, direction: str) -> list[str]:
        return [m.name for m in getattr(self, side) if m.direction == direction]


def run_pair(secc_settings: SeccSettings, evcc_settings: EvccSettings, run_dir: Path,
             pki_path: Path | None = None, timeout_s: float = 150.0,
             timeout_scale: float = TIMEOUT_SCALE) -> PairRun:
    """Start the SECC in one namespace, then the EVCC in the other; wait for the EVCC to finish
    (it exits after SessionStop or on an error), stop the SECC, parse both logs. The EVCC's
    interface is captured from before its first frame to the end."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with veth_link() as link:
        secc = start_secc(link.secc.ns, link.secc.iface, secc_settings, run_dir, pki_path, timeout_scale)
        try:
            cap = Capture(link.evcc.ns, link.evcc.iface, run_dir / "evcc-wire.hex").start()
            try:
                evcc = start_evcc(link.evcc.ns, link.evcc.iface, evcc_settings, run_dir, pki_path,
                                  timeout_scale)
                try:
                    rc = evcc.wait(timeout_s, gave_up=EVCC_GAVE_UP)
                finally:
                    evcc.stop()
            finally:
                cap.stop()
        finally:
            secc.stop()
    return PairRun(evcc_rc=rc, secc=secc.messages(), evcc=evcc.messages(), run_dir=run_dir,
                   capture=cap.out)


@contextmanager
def josev_peer(role: str, settings: SeccSettings | EvccSettings, run_dir: Path,
               pki_path: Path | None = None, timeout_scale: float = TIMEOUT_SCALE):
    """A Josev SECC (role "secc") or EVCC ("evcc") on one end of a fresh veth link, for a test
    that runs freev2g's counterpart in the other namespace (link.evcc.ns for a Josev SECC,
    link.secc.ns for a Josev EVCC; addresses fe80::1 SECC side, fe80::2 EVCC side).
    Yields (link, process); the SECC is listening for SDP when this yields."""
    with veth_link() as link:
        side = link.secc if role == "secc" else link.evcc
        start = start_secc if role == "secc" else start_evcc
        proc = start(side.ns, side.iface, settings, run_dir, pki_path, timeout_scale)
        try:
            yield link, proc
        finally:
            proc.stop()
