"""A small EVSE application for tests: answers the EVSE link's events like an EvseManager would,
and records what it saw (the other side of the link seam, not a fake of a wire part)."""
from __future__ import annotations

from freev2g import link as L
from freev2g.model.enums import EVSEProcessing, IsolationLevel, StopCause
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter
from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple


class EvseApp:
    def __init__(self, *, ongoing_auth: int = 0, isolation=IsolationLevel.VALID, authorize: bool = True):
        self.events: list = []
        self.ongoing_auth = ongoing_auth
        self.isolation = isolation
        self.authorize = authorize
        self.contactor_closed = False
        self.voltage_V = 0.0
        self.ended = []

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    async def __call__(self, event):
        self.events.append(event)
        if isinstance(event, L.AuthorizationRequest):
            if self.ongoing_auth > 0:
                self.ongoing_auth -= 1
                return L.AuthorizationAnswer(processing=EVSEProcessing.ONGOING)
            return L.AuthorizationAnswer(accepted=self.authorize)
        if isinstance(event, L.ChargeParameterRequest):
            sched = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 50000.0), PMaxScheduleEntry(3600, 22000.0, 82800)])])
            return L.ChargeParameterAnswer(
                schedules=sched,
                dc=DCEVSEChargeParameter(max_current_A=100, max_voltage_V=500, max_power_W=50000) if event.mode.is_dc else None,
                ac=None if event.mode.is_dc else ACEVSEChargeParameter(nominal_voltage_V=230, max_current_A=16),
            )
        if isinstance(event, L.CableCheckRequest):
            return L.CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=self.isolation)
        if isinstance(event, L.PreChargeRequest):
            self.voltage_V = event.target_voltage_V
            return L.PreChargeAnswer(present_voltage_V=self.voltage_V)
        if isinstance(event, L.PowerDeliveryRequest):
            self.contactor_closed = event.progress.value == "Start"
            return L.PowerDeliveryAnswer()
        if isinstance(event, L.DCChargeLoopRequest):
            return L.DCChargeLoopAnswer(present_voltage_V=event.target_voltage_V,
                                        present_current_A=event.target_current_A if self.contactor_closed else 0.0)
        if isinstance(event, L.ACChargeLoopRequest):
            return L.ACChargeLoopAnswer(evse_max_current_A=16.0)
        if isinstance(event, L.WeldingDetectionRequest):
            self.voltage_V = 0.0
            return L.WeldingDetectionAnswer(present_voltage_V=0.0)
        if isinstance(event, L.SessionEnded):
            self.contactor_closed = False
            self.ended.append(event)
        return None
