"""Link "iso15118" options: wire keys are split from the virtual link's, mistakes are named."""
from __future__ import annotations

import pytest

from freev2g_v2g_wire.link import WireOptions, WireOptionsError
from freev2g_v2g_wire.tls import TlsConfig


def test_split_and_errors():
    wire, rest = WireOptions.split({"iface": "eth0", "protocols": ["din"], "tls": {"version": "1.3"},
                                    "security": "tls"})
    assert wire.iface == "eth0" and wire.tls == TlsConfig(version="1.3") and rest == {"protocols": ["din"]}
    with pytest.raises(WireOptionsError, match="link.options.iface"):
        WireOptions.split({"protocols": ["din"]})
    with pytest.raises(WireOptionsError, match="expected 'tcp' or 'tls'"):
        WireOptions.split({"iface": "eth0", "security": "ssl"})
    with pytest.raises(WireOptionsError, match="needs a \\[link.options.tls\\] table"):
        WireOptions.split({"iface": "eth0", "security": "tls"})
    with pytest.raises(WireOptionsError, match="link.options.tls: .*cipher"):
        WireOptions.split({"iface": "eth0", "tls": {"cipher": "x"}})
