"""The Josev log parser on log lines in Josev's format (the live sessions in
test_josev_sessions.py exercise it on real logs; these pin the pairing rules and the errors)."""
from __future__ import annotations

import pytest

from josev_log import JosevLogError, parse_josev_log

pytestmark = pytest.mark.interop

T = "2026-12-03 16:41:24,395"
C = "iso15118.shared.exi_codec"


def line(level: str, text: str, logger: str = C) -> str:
    return f"{level}    {T} - {logger} (248): {text}"


def test_tx_and_rx_pairs():
    log = "\n".join([
        line("INFO", "Starting 15118 version: 0.31.1", "iso15118.secc"),
        line("INFO", 'Message to encode (ns=Namespace.SAP): {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}'),
        line("DEBUG", "EXI-encoded message: 80400040"),
        line("DEBUG", "EXI-encoded message (ns=Namespace.DIN_MSG_DEF): 809a0206"),
        line("INFO", 'Decoded message (ns=Namespace.DIN_MSG_DEF): {"V2G_Message":{"Header":{"SessionID":"00"},"Body":{"SessionStopReq":{}}}}'),
        line("DEBUG", "EXI-encoded message (ns=urn:iso:std:iso:15118:-20:DC): 8034"),
        line("INFO", 'Decoded message (ns=urn:iso:std:iso:15118:-20:DC): {"DC_ChargeLoopReq":{}}'),
    ])
    tx, rx, rx20 = parse_josev_log(log)
    assert (tx.direction, tx.protocol, tx.name, tx.exi, tx.line) == ("tx", "sap", "supportedAppProtocolRes", bytes.fromhex("80400040"), 3)
    assert (rx.direction, rx.protocol, rx.name, rx.exi, rx.line) == ("rx", "din", "SessionStopReq", bytes.fromhex("809a0206"), 4)
    assert (rx20.protocol, rx20.name, rx20.is_message) == ("iso20-dc", "DC_ChargeLoopReq", True)


def test_signature_fragment_is_not_a_message():
    log = "\n".join([
        line("INFO", 'Message to encode (ns=Namespace.ISO_V2_MSG_DEF): {"SalesTariff": {"Id": "id1"}}'),
        line("DEBUG", "EXI-encoded message: 8001"),
    ])
    (frag,) = parse_josev_log(log)
    assert frag.name == "SalesTariff" and not frag.is_message


@pytest.mark.parametrize("lines, error", [
    ([line("DEBUG", "EXI-encoded message: 8001")], "line 1: EXI-encoded message without"),
    ([line("INFO", 'Decoded message (ns=Namespace.SAP): {"a": 1}')], "line 1: Decoded message without"),
    ([line("INFO", "Message to encode (ns=Namespace.SAP): {not json")], "line 1: message JSON does not parse"),
    ([line("INFO", 'Message to encode (ns=Namespace.FOO): {"a": 1}')], "unknown Josev namespace 'Namespace.FOO'"),
    ([line("DEBUG", "EXI-encoded message (ns=Namespace.SAP): 80"),
      line("INFO", 'Decoded message (ns=Namespace.DIN_MSG_DEF): {"a": 1}')], "line 2: decoded namespace"),
])
def test_malformed_logs_say_which_line(lines, error):
    with pytest.raises(JosevLogError, match=error.replace("(", r"\(")):
        parse_josev_log("\n".join(lines))
