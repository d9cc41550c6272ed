"""SECC sequencing for DIN SPEC 70121 (DC only; charging-domain.md 3.5): the -2 server with
DIN's message names, ServicePaymentSelection/ContractAuthentication, ReadyToChargeState
instead of ChargeProgress, no renegotiation, no pause and no SAE J2847/2 services."""
from __future__ import annotations

from freev2g.link import PaymentSelected
from freev2g.model.enums import ChargeProgress, EVSEProcessing, PaymentOption, Protocol, ResponseCode, StopCause

from ..messages import din, iso2
from .iso2 import Iso2Server


class DinServer(Iso2Server):
    protocol = Protocol.DIN70121
    M = din
    FIRST = (din.SessionSetupReq,)

    def add_protocol_handlers(self) -> None:
        self.handlers.update({
            din.ServicePaymentSelectionReq: self.on_payment_selection,
            din.ContractAuthenticationReq: self.on_authorization,
        })  # fmt: skip

    def session_setup_res(self, code: ResponseCode):
        return din.SessionSetupRes(session_id=self.session_id, response_code=code, evse_id=self.offer.evse_id_din,
                                   datetime_now_s=int(self.clock.now().timestamp()))

    async def on_service_discovery(self, req):
        dc_modes = [m for m in self.offer.energy_transfer_modes if m.is_dc and not m.is_bidirectional]
        self.allowed = {din.ServicePaymentSelectionReq}
        return din.ServiceDiscoveryRes(
            session_id=self.session_id,
            payment_options=[p for p in self.offer.payment_options if p is PaymentOption.EXTERNAL_PAYMENT]
            or [PaymentOption.EXTERNAL_PAYMENT],
            charge_service=din.ChargeService(free_service=self.offer.free_service,
                                             energy_transfer_type=dc_modes[0] if dc_modes else self.offer.energy_transfer_modes[0]),
        )

    async def on_payment_selection(self, req):
        if req.selected_payment_option is not PaymentOption.EXTERNAL_PAYMENT:
            return self.fail(req, ResponseCode.FAILED_PAYMENT_SELECTION_INVALID, StopCause.OTHER,
                             "DIN 70121: only ExternalPayment")
        failed = self.check_selection(req)
        if failed is not None:
            return failed
        await self.app(PaymentSelected(option=self.payment,
                                       selected_service_ids=tuple(s.service_id for s in req.selected_services)))
        self.allowed = {din.ContractAuthenticationReq}
        return din.ServicePaymentSelectionRes(session_id=self.session_id)

    async def on_authorization(self, req):
        return await self.authorize(req, din.ContractAuthenticationRes)

    def din_processing(self, p: EVSEProcessing) -> EVSEProcessing:
        return EVSEProcessing.FINISHED if p is EVSEProcessing.FINISHED else EVSEProcessing.ONGOING

    def din_code(self, code: ResponseCode) -> ResponseCode:
        return ResponseCode.FAILED_WRONG_CHARGE_PARAMETER if code is ResponseCode.FAILED_WRONG_ENERGY_TRANSFER_MODE else code

    def charge_request(self, req):
        shim = iso2.ChargeParameterDiscoveryReq(session_id=req.session_id,
                                                requested_energy_transfer_mode=req.ev_requested_energy_transfer_type,
                                                dc_ev_charge_parameter=req.dc_ev_charge_parameter)
        if not req.ev_requested_energy_transfer_type.is_dc:
            return None, "DIN 70121 is DC only (energy transfer type)"
        return super().charge_request(shim)

    def cpd_res(self, processing, ans):
        return din.ChargeParameterDiscoveryRes(
            session_id=self.session_id, evse_processing=processing,
            sa_schedule_list=self.schedules if processing is EVSEProcessing.FINISHED else None,
            dc_evse_charge_parameter=ans.dc if ans else None,
            dc_evse_status=self.dc_status(ans.dc.status_code if ans and ans.dc else None),
        )

    async def on_power_delivery(self, req):
        progress = ChargeProgress.START if req.ready_to_charge_state else ChargeProgress.STOP
        tuple_id = req.sa_schedule_tuple_id if req.sa_schedule_tuple_id is not None else self.tuple_id
        shim = iso2.PowerDeliveryReq(session_id=req.session_id, charge_progress=progress, sa_schedule_tuple_id=tuple_id,
                                     charging_profile=req.charging_profile)
        failed, ans = await self.power_delivery(shim, progress, tuple_id, req.charging_profile, req.dc_ev_status)
        if failed is not None:
            return din.PowerDeliveryRes(session_id=self.session_id, response_code=failed.response_code)
        self.allowed = ({din.CurrentDemandReq} if progress is ChargeProgress.START
                        else {din.WeldingDetectionReq, din.SessionStopReq})
        return din.PowerDeliveryRes(session_id=self.session_id, dc_evse_status=self.dc_status(ans.status_code))

    async def on_current_demand(self, req):
        ans, fields = await self.dc_loop(req)
        if ans is None:
            return din.CurrentDemandRes(session_id=self.session_id, response_code=fields.response_code)
        return din.CurrentDemandRes(**fields)
