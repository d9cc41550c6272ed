"""Board driver "whitebeet" (kind bsp): the module's CP generator as a freev2g ControlPilot
(whitebeet-hci.md 5.3, 6). The module has no contactor output: the contactor is driven through
an HCI GPIO (module 0x0F, `contactor_gpio`, default 20 = carrier J4 pin 1) and read back."""
from __future__ import annotations

import logging

from freev2g.boards import BoardEvent, BspCapabilities, CommunicationFault, DeviceFault
from freev2g.model.enums import CPState

from .. import hci_enums as E
from ..client import HciError, Notification
from .connection import ModuleConnection

log = logging.getLogger(__name__)


class WhitebeetControlPilot:
    def __init__(self, connection: ModuleConnection, *, contactor_gpio: int = 20, max_current_A: float = 32.0):
        self.connection = connection
        self.contactor_gpio = contactor_gpio
        self._caps = BspCapabilities(max_current_A_import=max_current_A)
        self._listeners = []
        self._state = CPState.A
        self._duty_pct = 100.0
        self._contactor = False
        self._subscribed = False

    def subscribe(self, listener) -> None:
        self._listeners.append(listener)

    def capabilities(self) -> BspCapabilities:
        return self._caps

    async def _client(self):
        client = await self.connection.ready()
        if not self._subscribed:
            client.subscribe(self._on_note)
            self._subscribed = True
        return client

    def _on_note(self, note: Notification) -> None:
        if note.name == "cp.state_changed" and note.data.state < len(E.CP_STATES):
            self._set_state(E.CP_STATES[note.data.state])

    def _set_state(self, state: CPState) -> None:
        if state is self._state:
            return
        self._state = state
        for listener in list(self._listeners):
            listener(BoardEvent(source="whitebeet", kind="cp_state", value=state))

    async def _duty(self, permille: int) -> None:
        try:
            await (await self._client()).request("cp.set_duty_cycle", duty_permille=permille)
        except Exception as exc:  # noqa: BLE001 - any failure (HCI, OSError ...) is a board error
            raise CommunicationFault(f"{type(exc).__name__}: {exc}", device="whitebeet") from exc
        self._duty_pct = permille / 10.0

    async def set_pwm_duty(self, duty_pct: float) -> None:
        if not 0 <= duty_pct <= 100:
            raise ValueError(f"duty {duty_pct} % outside 0..100")
        await self._duty(int(round(duty_pct * 10)))  # 6.2: per mille

    async def set_pwm_off(self) -> None:
        await self._duty(1000)

    async def set_state_f(self) -> None:
        await self._duty(0)

    def cp_state(self) -> CPState:
        return self._state

    async def poll_state(self) -> CPState:
        data = await (await self._client()).call("cp.get_state")
        if data.state < len(E.CP_STATES):
            self._set_state(E.CP_STATES[data.state])
        return self._state

    def pwm_duty_pct(self) -> float:
        return self._duty_pct

    async def allow_power_on(self, allow: bool, *, phases: int = 3) -> None:
        try:
            client = await self._client()
            await client.request("gpio.set_mode", gpio=self.contactor_gpio, mode=0)
            await client.request("gpio.set_state", gpio=self.contactor_gpio, state=int(allow))
            back = (await client.call("gpio.get_state", gpio=self.contactor_gpio)).state
        except Exception as exc:  # noqa: BLE001 - the board contract: only declared errors leave
            if not allow:
                raise DeviceFault(f"contactor GPIO {self.contactor_gpio} could not be opened: {type(exc).__name__}: {exc}",
                                  device="whitebeet") from exc
            raise CommunicationFault(f"{type(exc).__name__}: {exc}", device="whitebeet") from exc
        if back != int(allow):
            raise DeviceFault(f"contactor GPIO {self.contactor_gpio} reads {back} after setting {int(allow)}", device="whitebeet")
        self._contactor = allow

    def contactor_closed(self) -> bool:
        return self._contactor

    def cable_rating_A(self) -> float | None:
        return None
