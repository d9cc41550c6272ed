"""`freev2g simulate --config station.toml --id-token TOKEN` in a child process against the real
CSMS of this test: the token is presented at plug-in, the OCPP uplink authorizes it, and the
session charges (Accepted) or ends with authorization_rejected and no energy (Invalid).

Note: the virtual_plc SECC currently reads an Ongoing AuthorizationAnswer's `accepted=False`
as a refusal, so this path relies on the CSMS answering before the EV's first AuthorizationReq
(~2 s simulated after plug-in; speed 10 leaves about 200 ms for a loopback round trip). The
EvseManager side, which polls properly, is covered without that race in test_authorize.py."""
from __future__ import annotations

import asyncio
import json
import sys

import pytest

SCENARIO = """
name = "short"
[[steps]]
action = "plug_in"
[[steps]]
action = "start_charging"
[[steps]]
action = "sleep"
duration_s = 30
[[steps]]
action = "stop"
[[steps]]
action = "unplug"
"""


@pytest.mark.parametrize("token,status", [("RFID-OK-7", "Accepted"), ("RFID-NO-7", "Invalid")])
def test_simulate_id_token_through_ocpp(make_csms, tmp_path, token, status):
    async def main():
        csms = make_csms("2.0.1")
        csms.tokens[token] = status
        await csms.start()
        station = tmp_path / "station.toml"
        station.write_text(f'[station]\nid = "SIM-TOKEN-1"\n[evse]\ncharge_mode = "DC"\n'
                           f'[uplinks.ocpp]\nurl = "{csms.url}"\nqueue_path = "{tmp_path / "q.sqlite"}"\n'
                           f'reconnect_min_s = 0.2\n')
        scenario = tmp_path / "scenario.toml"
        scenario.write_text(SCENARIO)
        cmd = [sys.executable, "-c", "import sys; from freev2g.cli import main; sys.exit(main())", "simulate",
               "--config", str(station), "--scenario", str(scenario), "--id-token", token, "--speed", "10",
               "--quiet", "--report-dir", str(tmp_path / "report")]
        try:
            child = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                         stderr=asyncio.subprocess.STDOUT)
            out, _ = await asyncio.wait_for(child.communicate(), 120)
        finally:
            await csms.stop()
        return csms, child.returncode, out.decode()

    csms, rc, out = asyncio.run(main())
    assert csms.calls("Authorize") == [{"idToken": {"idToken": token, "type": "ISO14443"}}], out
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    states = {p["transactionInfo"].get("chargingState") for p in csms.calls("TransactionEvent")}
    if status == "Accepted":
        assert rc == 0, out
        auth = [p for p in csms.calls("TransactionEvent") if p["triggerReason"] == "Authorized"]
        assert auth and auth[0]["idToken"] == {"idToken": token, "type": "ISO14443"}
        assert summary["stop_cause"] != "authorization_rejected" and summary["energy_Wh"] > 0, out
        assert "Charging" in states
    else:
        assert summary["stop_cause"] == "authorization_rejected", out
        assert summary["energy_Wh"] == 0.0 and summary["peak_power_W"] == 0.0
        assert "Charging" not in states
