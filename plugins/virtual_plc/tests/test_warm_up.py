"""The EXI codec of a link's protocols is compiled when the link opens, not on the first
message of a session: that compile (tens of ms per protocol, more on a loaded machine) ran inside
V2G_EVCC_Msg_Timeout, 200 ms of wall time at `--speed 10`, and made the EV give up on
SessionSetupRes on a loaded 2-core CI machine. Each case runs in a fresh interpreter, so no
earlier test has filled the codec's caches."""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import asyncio, sys
from freev2g.clock import Clock
from freev2g.exi import codec
from freev2g.model.enums import EnergyTransferMode
from freev2g.model.params import EVSEOffer
from freev2g.registry import LinkContext
from freev2g_virtual_plc.secc.link import VirtualEvseLink
from freev2g_virtual_plc.evcc.link import VirtualEvLink
from freev2g_virtual_plc.options import LinkOptions

async def main():
    opts = LinkOptions(protocols=sys.argv[2].split(","))
    ctx = LinkContext(clock=Clock())
    if sys.argv[1] == "evse":
        link = VirtualEvseLink(opts, ctx)
        await link.open(None, EVSEOffer(evse_id="DE*PNX*E1*1", energy_transfer_modes=[EnergyTransferMode.DC_EXTENDED]))
    else:
        link = VirtualEvLink(opts, ctx)
        await link.open(None)
    print(",".join(sorted(codec._entries)))
    await link.close()

asyncio.run(main())
"""


@pytest.mark.parametrize("role", ["evse", "ev"])
@pytest.mark.parametrize(("protocols", "compiled"), [
    ("din", "din,sap"),
    ("iso2,din", "din,iso2,sap"),
    ("iso20", "iso20-ac,iso20-common,iso20-dc,sap"),
])
def test_opening_a_link_compiles_the_codec_of_its_protocols_only(role, protocols, compiled):
    out = subprocess.run([sys.executable, "-c", PROBE, role, protocols], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == compiled
