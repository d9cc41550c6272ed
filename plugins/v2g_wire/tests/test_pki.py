"""The test PKI (`make pki`): every chain verifies with openssl, keys and curves are what the
profiles say, keys are private (0600) and git ignores the folder."""
from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from freev2g_v2g_wire.pki import CHAINS

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("profile,curve,digest", [("iso2", "prime256v1", "ecdsa-with-SHA256"),
                                                  ("iso20", "secp521r1", "ecdsa-with-SHA512")])
def test_chains_verify_and_use_the_profile(pki, profile, curve, digest):
    d = pki / profile
    for root, sub1, sub2, leaf in CHAINS:
        proc = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", str(d / f"{root.name}.pem"),
                               "-untrusted", str(d / f"{sub1.name}.pem"), "-untrusted", str(d / f"{sub2.name}.pem"),
                               str(d / f"{leaf.name}.pem")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        text = subprocess.run(["openssl", "x509", "-in", str(d / f"{leaf.name}.pem"), "-noout", "-text"],
                              capture_output=True, text=True, check=True).stdout
        assert f"ASN1 OID: {curve}" in text and f"Signature Algorithm: {digest}" in text
        assert f"CN = {leaf.cn}" in text
        assert "CA:FALSE" in text
        for cert in (root, sub1, sub2, leaf):
            assert stat.S_IMODE((d / f"{cert.name}.key").stat().st_mode) == 0o600
    # a chain from another root does not verify (the check above can fail)
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(d / "MORootCA.pem"), "-untrusted",
                           str(d / "CPOSubCA1.pem"), "-untrusted", str(d / "CPOSubCA2.pem"), str(d / "SECCCert.pem")],
                          capture_output=True, text=True)
    assert proc.returncode != 0


def test_keys_are_git_ignored():
    proc = subprocess.run(["git", "check-ignore", "-q", "build/pki/iso2/SECCCert.key"], cwd=ROOT)
    assert proc.returncode == 0
    proc = subprocess.run(["git", "check-ignore", "-q", "plugins/v2g_wire/some.key"], cwd=ROOT)
    assert proc.returncode == 0
