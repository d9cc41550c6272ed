"""Value encodings at the edges (fact sheet §3, §8.1): big xs:integer (X509SerialNumber,
cbexigen#54), unsignedLong above 2^63, Unicode beyond ASCII (§3.7), 2nd-level EE in simple
elements, and the typed errors. Real C codec; runs under the sanitizer build too."""
from __future__ import annotations

import pytest

from freev2g import exi


def cert_install(serial):
    return {"V2G_Message": {"Header": {"SessionID": b"12345678"}, "Body": {"CertificateInstallationReq": {
        "Id": "id1", "OEMProvisioningCert": b"\x30" * 40, "ListOfRootCertificateIDs": {"RootCertificateID": [
            {"X509IssuerName": "CN=V2G Root CA,O=Ex\u00e9mple", "X509SerialNumber": serial}]}}}}}


@pytest.mark.parametrize("serial", [0, 5, -1, -3, 2**63 - 1, 2**63, -(2**63) - 1, 2**159 + 12345,
                                    -(2**100), 2**279])
def test_x509_serial_numbers_of_any_size(serial):
    msg = cert_install(serial)
    data = exi.encode("iso2", msg)
    assert exi.decode("iso2", data) == msg
    # re-encoding the decoded form gives the same bits
    assert exi.encode("iso2", exi.decode("iso2", data)) == data


def test_serial_number_beyond_40_octets_is_declared_error():
    with pytest.raises(exi.ExiEncodeError, match="40 EXI octets"):
        exi.encode("iso2", cert_install(2**281))


def test_unsigned_long_full_range():
    for ts in (0, 2**63 - 1, 2**63, 2**64 - 1):
        msg = {"DC_ChargeLoopReq": {"Header": {"SessionID": bytes(8), "TimeStamp": ts},
                                    "EVPresentVoltage": {"Exponent": 0, "Value": 400},
                                    "Dynamic_DC_CLReqControlMode": {
                                        "EVTargetEnergyRequest": {"Exponent": 0, "Value": 1},
                                        "EVMaximumEnergyRequest": {"Exponent": 0, "Value": 2},
                                        "EVMinimumEnergyRequest": {"Exponent": 0, "Value": 0},
                                        "EVMaximumChargePower": {"Exponent": 3, "Value": 50},
                                        "EVMinimumChargePower": {"Exponent": 0, "Value": 0},
                                        "EVMaximumChargeCurrent": {"Exponent": 0, "Value": 125},
                                        "EVMaximumVoltage": {"Exponent": 0, "Value": 450},
                                        "EVMinimumVoltage": {"Exponent": 0, "Value": 200}},
                                    "MeterInfoRequested": False}}
        assert exi.decode("iso20-dc", exi.encode("iso20-dc", msg)) == msg
    with pytest.raises(exi.ExiEncodeError, match="outside"):
        msg["DC_ChargeLoopReq"]["Header"]["TimeStamp"] = 2**64
        exi.encode("iso20-dc", msg)


def test_non_ascii_characters_are_code_points():
    msg = {"supportedAppProtocolReq": {"AppProtocol": [{
        "ProtocolNamespace": "urn:\u00e9\u4e2d\U0001f50c", "VersionNumberMajor": 1, "VersionNumberMinor": 0,
        "SchemaID": 0, "Priority": 1}]}}
    data = exi.encode("sap", msg)
    assert exi.decode("sap", data) == msg


def test_simple_element_without_value_needs_allow_deviations():
    msg = {"supportedAppProtocolRes": {"ResponseCode": None}}
    with pytest.raises(exi.ExiEncodeError, match="not allowed") as ei:
        exi.encode("sap", msg)
    assert ei.value.element == "supportedAppProtocolRes/ResponseCode"
    data = exi.encode("sap", msg, allow_deviations=True)
    assert exi.decode("sap", data) == msg


def test_threads_do_not_share_buffers():
    """cffi drops the GIL inside the C codec: concurrent calls must not share scratch buffers."""
    import threading

    msgs = [cert_install(i * 7919) for i in range(8)]
    datas = [exi.encode("iso2", m) for m in msgs]
    bad: list[int] = []

    def worker(k: int) -> None:
        for _ in range(300):
            if exi.decode("iso2", datas[k]) != msgs[k] or exi.encode("iso2", msgs[k]) != datas[k]:
                bad.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
