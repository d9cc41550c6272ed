"""Issue #12 item 11: schedule powers that do not fit the HCI field as a bare 16-bit integer go
out with the exponent the `exp` field allows (whitebeet-hci.md 4.1), capped where a peer needs it,
and every rounding or cap is logged. FreeV2G's EV host re-encodes 0xC3 powers in its 0xA8 as
`int(power).to_bytes(2, "big")` with exponent 0 (5.7.9): above 65 535 W that raises "int too big
to convert" and no 0xA8 goes out; the EV emulator's host_power_max_W keeps 0xC3 within such a
host's field."""
from __future__ import annotations

import logging

import attrs

from freev2g.model.enums import EnergyTransferMode, StopCause
from freev2g.model.schedule import ChargingProfileEntry, PMaxScheduleEntry, SAScheduleList, SAScheduleTuple
from freev2g_whitebeet.emulator.ev import EvEmulatorConfig
from freev2g_whitebeet.emulator.ev_notes import schedule_tuples
from freev2g_whitebeet.host.ev_values import profile_entries
from freev2g_whitebeet.messages import catalogue

from wb_evse_app import EvseApp
from wb_pair import Pair

CAT = catalogue()


def test_ev_host_profile_scales_big_powers_and_logs_the_rounding(caplog):
    chosen = SAScheduleTuple(1, [PMaxScheduleEntry(0, 123_456.7), PMaxScheduleEntry(600, 150_000.0),
                                 PMaxScheduleEntry(1200, 5e12, 3600)])
    with caplog.at_level(logging.INFO):
        entries = profile_entries((), chosen)
        frame = CAT["v2g.ev.set_charging_profile"].encode({"tuple_id": 1, "entries": entries})
    powers = [e["power_W"] for e in entries]
    assert [p.value for p in powers] == [123_460.0, 150_000.0, 32_767_000.0]
    assert all(-3 <= p.exponent <= 3 for p in powers)  # the ISO multiplier range the module maps
    text = caplog.text
    assert "0xA8 entry 1: power 123457 W rounded to 123460 W (12346 x 10^1)" in text, text
    assert "0xA8 entry 3: power 5e+12 W does not fit the field" in text, text
    assert "0xA8 entry 2" not in text  # exact: nothing to report
    assert frame  # the 0xA8 encodes (no power too big for its field)


def test_ev_profile_from_the_car_is_scaled_too(caplog):
    with caplog.at_level(logging.INFO):
        entries = profile_entries((ChargingProfileEntry(start_s=0, max_power_W=99_999.9),), None)
    assert entries[0]["power_W"].value == 100_000.0
    assert "rounded to 100000 W" in caplog.text


def test_emulator_caps_0xc3_for_a_host_with_a_16_bit_power_field(caplog):
    schedules = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 150_000.0), PMaxScheduleEntry(3600, 22_000.0, 82800)])])
    with caplog.at_level(logging.INFO):
        [t] = schedule_tuples(schedules, 1, host_power_max_W=32_767.0)
    powers = [e["power_W"].value for e in t["entries"]]
    assert powers == [32_767.0, 22_000.0]
    for p in powers:  # what FreeV2G's v2gSetChargingProfile does with each power
        int(p).to_bytes(2, "big")
    assert "0xC3 tuple 1 entry 1: power 150000 W does not fit the field (at most 32767 W); sent as 32767 W" in caplog.text


def test_host_with_a_16_bit_field_gets_a_schedule_it_can_echo(tmp_path, virtual_loop, caplog):
    """Both hosts through two emulators; the EV emulator caps 0xC3 at 32 767 W: the EV host's
    0xA8 reaches the module and the session charges to the end."""
    app = EvseApp()  # offers 50 kW, then 22 kW

    async def main():
        pair = Pair(str(tmp_path / "cable.sock"), app)
        pair.ev_emu.v2g.config = attrs.evolve(pair.ev_emu.v2g.config, host_power_max_W=32_767.0)
        started = await pair.start(EnergyTransferMode.DC_EXTENDED)
        await pair.wait_finished()
        schedules = pair.ev_link.schedules
        await pair.stop()
        return pair, started, schedules

    with caplog.at_level(logging.INFO):
        pair, started, schedules = virtual_loop(main())
    assert started and [e.cause for e in app.ended] == [StopCause.EV_STOP]
    assert "v2g.ev.set_charging_profile" in pair.ev_emu.core.commands_seen
    assert max(e.pmax_W for t in schedules.tuples for e in t.entries) <= 32_767.0
    assert "power 50000 W does not fit the field (at most 32767 W)" in caplog.text


def test_emulate_cli_rejects_the_cap_outside_the_ev_role():
    from click.testing import CliRunner

    from freev2g_whitebeet.cli import whitebeet_group

    result = CliRunner().invoke(whitebeet_group, ["emulate", "--iface", "lo", "--role", "evse", "--host-power-max-w", "32767"])
    assert result.exit_code == 2 and "--host-power-max-w caps what the EV module reports" in result.output, result.output
    assert "Traceback" not in result.output
