"""The board UART protocol table: every message round-trips through the C frame codec."""
import pytest
from freev2g.framing import Frame, FrameDecoder

from freev2g_evse_board.serialboard import protocol as p

SAMPLES = {
    "hello": dict(version=1, heartbeat_ms=100, ident="board-1"),
    "heartbeat": dict(uptime_ms=123456),
    "set_pwm": dict(duty_centi_pct=533),
    "allow_power": dict(allow=1, phases=3),
    "lock": {}, "unlock": {}, "imd_start": {}, "imd_stop": {}, "imd_read": {},
    "psu_mode": dict(mode=3),
    "psu_setpoints": dict(voltage_mV=400_000, current_mA=-2_000),
    "ovm_limit": dict(limit_mV=550_000),
    "imd_self_test": dict(test_voltage_mV=500_000),
    "cp": dict(state=ord("C"), positive_mV=5995, negative_mV=p.NO_VALUE_MV, duty_centi_pct=500),
    "relay": dict(closed=1, phases=1),
    "lock_state": dict(locked=1),
    "fault": dict(code=3, active=1, text="psu_fault"),
    "meter": dict(import_mWh=10**12, export_mWh=0, power_mW=-11_000_000, voltage_mV=230_000, current_mA=16_000),
    "psu": dict(voltage_mV=399_000, current_mA=100_000),
    "pp": dict(rating_dA=320),
}


def test_every_message_has_a_sample():
    assert set(SAMPLES) == set(p.MESSAGES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip(name):
    wire = p.encode(name, 7, **SAMPLES[name])
    frame = Frame.from_bytes(wire)
    msg = p.decode(frame)
    assert (msg.name, msg.request_id, msg.values) == (name, 7, SAMPLES[name])


def test_responses_round_trip_with_status_and_values():
    wire = p.encode_response("imd_read", 9, r_f_Ohm=5_000_000, r_n_Ohm=40_000, voltage_mV=1)
    msg = p.decode(Frame.from_bytes(wire))
    assert msg.group is p.Group.RESPONSE and msg.status is p.Status.OK and msg.request_id == 9
    assert msg.values == {"r_f_Ohm": 5_000_000, "r_n_Ohm": 40_000, "voltage_mV": 1}
    err = p.decode(Frame.from_bytes(p.encode_response("lock", 3, p.Status.DEVICE_FAULT, "jammed")))
    assert err.status is p.Status.DEVICE_FAULT and err.values == {"text": "jammed"}


def test_stream_of_messages_through_the_decoder_in_small_chunks():
    wire = b"".join(p.encode(n, i, **SAMPLES[n]) for i, n in enumerate(sorted(SAMPLES)))
    dec = FrameDecoder(max_payload=p.MAX_PAYLOAD)
    frames = []
    for i in range(0, len(wire), 3):
        frames += dec.feed(wire[i:i + 3])
    assert [p.decode(f).name for f in frames] == sorted(SAMPLES)


@pytest.mark.parametrize(
    "frame, fragment",
    [
        (Frame(0x10, 0x7F, 1, b""), "unknown message"),
        (Frame(0x10, 0x01, 1, b"\x01"), "set_pwm: payload of 1 bytes, expected 2"),
        (Frame(0x11, 0x03, 1, b""), "empty payload"),
        (Frame(0x11, 0x03, 1, b"\x09"), "unknown status 9"),
    ],
)
def test_bad_frames_raise_protocol_error(frame, fragment):
    with pytest.raises(p.ProtocolError, match=fragment):
        p.decode(frame)


def test_encode_rejects_missing_unknown_and_out_of_range_fields():
    with pytest.raises(p.ProtocolError, match="missing field 'phases'"):
        p.encode("allow_power", 1, allow=1)
    with pytest.raises(p.ProtocolError, match="unknown field"):
        p.encode("lock", 1, force=1)
    with pytest.raises(p.ProtocolError, match="set_pwm"):
        p.encode("set_pwm", 1, duty_centi_pct=70000)
