"""EV process for the cross-process test: board "virtual_remote" + link "virtual" (socket)
built through the plugin manager, driven by the scripted EV. Prints the outcome as JSON."""
import asyncio
import json
import sys

from freev2g.clock import Clock
from freev2g.link import EvSessionFinished, EvSessionStarted
from freev2g.model.enums import Protocol
from freev2g.plugins import get_plugin_manager
from freev2g.registry import BoardContext, LinkContext
from freev2g_virtual_plc.scripted import ScriptedEv, dc_request

FAST_SLAC = {"sounding_s": 0.2, "join_s": 0.2}


async def main(path: str, protocol: str) -> None:
    regs = get_plugin_manager().registries()
    clock = Clock()
    board = regs.boards.get("ev_board", "virtual_remote").factory({"path": path}, BoardContext(clock=clock))
    link = regs.links.get("virtual", "ev").factory({"medium": "socket", "path": path, "slac": FAST_SLAC},
                                                   LinkContext(clock, {"ev_board": board}, {}))
    ev = ScriptedEv(board=board)
    await link.open(ev.handle)
    ok = await link.start_session(dc_request((Protocol(protocol),)))
    await clock.wait_for(ev.finished.wait(), 30)
    await link.close()
    fin = ev.of(EvSessionFinished)[0]
    started = ev.of(EvSessionStarted)
    print(json.dumps({"ok": ok, "cause": fin.cause.value, "detail": fin.detail,
                      "session": started[0].iso_session_id if started else None,
                      "loops": len([e for e in ev.events if type(e).__name__ == "EvChargeLoopStatus"])}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
