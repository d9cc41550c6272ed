"""Security profiles 1 (Basic auth) and 2 (TLS + server certificate check + Basic auth),
against the real CSMS. Certificates are made per test with the openssl command line."""
from __future__ import annotations

import asyncio
import ssl
import subprocess

import pytest
from freev2g_ocpp import OcppConfigError, OcppUplink


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    """A CA, a server certificate for localhost signed by it, and an unrelated CA."""
    d = str(tmp_path)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=freev2g test CA", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem",
             "-days", "2", "-subj", "/CN=someone else", cwd=d)
    return tmp_path


def _run_until_boot(csms, station, cfg, *, expect_boot: bool):
    async def main():
        await csms.start()
        cfg_ = cfg(csms.url)
        uplink = OcppUplink(cfg_, station)
        await uplink.start()
        try:
            if expect_boot:
                await csms.wait_for(lambda c: "BootNotification" in c.actions(), "BootNotification")
            else:
                state = await asyncio.wait_for(uplink.wait_state(lambda st: st.startswith("connect failed")), 20)
                assert "connect failed" in state
            return uplink.connected, csms.actions()
        finally:
            await uplink.stop()
            await csms.stop()

    return asyncio.run(main())


def test_profile1_basic_auth(make_csms, make_station, uplink_config):
    csms = make_csms("2.0.1", password="s3cret-pass-16ch")
    connected, actions = _run_until_boot(csms, make_station(), lambda url: uplink_config(
        url, security_profile=1, password="s3cret-pass-16ch"), expect_boot=True)
    assert actions[0] == "BootNotification" and csms.auth_failures == 0


def test_profile1_wrong_password_is_refused(make_csms, make_station, uplink_config):
    csms = make_csms("2.0.1", password="s3cret-pass-16ch")
    connected, actions = _run_until_boot(csms, make_station(), lambda url: uplink_config(
        url, security_profile=1, password="wrong-password!!"), expect_boot=False)
    assert not connected and actions == [] and csms.auth_failures >= 1


def _server_ctx(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    return ctx


def test_profile2_tls_verifies_the_server(make_csms, make_station, uplink_config, pki):
    csms = make_csms("2.0.1", password="s3cret-pass-16ch", ssl_context=_server_ctx(pki))
    connected, actions = _run_until_boot(csms, make_station(), lambda url: uplink_config(
        url, security_profile=2, password="s3cret-pass-16ch", ca_file=str(pki / "ca.pem")), expect_boot=True)
    assert csms.url.startswith("wss://") and actions[0] == "BootNotification"


def test_profile2_untrusted_server_is_refused(make_csms, make_station, uplink_config, pki):
    csms = make_csms("2.0.1", password="s3cret-pass-16ch", ssl_context=_server_ctx(pki))
    connected, actions = _run_until_boot(csms, make_station(), lambda url: uplink_config(
        url, security_profile=2, password="s3cret-pass-16ch", ca_file=str(pki / "other.pem")), expect_boot=False)
    assert not connected and actions == []


def test_config_rules(uplink_config):
    with pytest.raises(OcppConfigError, match="password"):
        uplink_config("ws://127.0.0.1:1/ocpp", security_profile=1)
    with pytest.raises(OcppConfigError, match="wss"):
        uplink_config("ws://127.0.0.1:1/ocpp", security_profile=2, password="x")
    with pytest.raises(OcppConfigError, match="version"):
        uplink_config("ws://127.0.0.1:1/ocpp", version="3.0")
