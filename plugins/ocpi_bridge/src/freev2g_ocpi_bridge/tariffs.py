"""Tariffs module, CPO = Sender (mod_tariffs): the configured tariffs, served with pagination,
referenced by the connectors of the Location, and used to price the CDR.

Each `[[uplinks.ocpi.tariffs]]` table becomes one Tariff with one TariffElement whose
PriceComponents are ENERGY (per kWh), TIME (per hour) and FLAT (once), each with the table's
VAT. Pricing (mod_tariffs, step_size): energy is billed in whole `energy_step_Wh` steps and
time in whole `time_step_s` steps, rounded up. TIME is priced over the whole session (start to
end): the bridge does not split charging from parking time, so PARKING_TIME is not offered.
"""
from __future__ import annotations

import math
from datetime import datetime

from aiohttp import web

from .config import OcpiConfig, TariffConfig
from .context import paginated
from .convert import dump
from .models import Price
from .models_cpo import PriceComponent, Tariff, TariffDimensionType, TariffElement

MODULE = "tariffs"


def tariff_object(cfg: OcpiConfig, t: TariffConfig, now: datetime) -> Tariff:
    vat = t.vat_pct if t.vat_pct else None
    parts = [
        PriceComponent(type=TariffDimensionType.ENERGY, price=t.energy_price_per_kWh, vat=vat, step_size=t.energy_step_Wh),
        PriceComponent(type=TariffDimensionType.TIME, price=t.time_price_per_hour, vat=vat, step_size=t.time_step_s),
    ]
    if t.flat_price:
        parts.append(PriceComponent(type=TariffDimensionType.FLAT, price=t.flat_price, vat=vat, step_size=1))
    return Tariff(
        country_code=cfg.country_code,
        party_id=cfg.party_id,
        id=t.id,
        currency=cfg.currency,
        elements=[TariffElement(price_components=parts)],
        last_updated=now,
    )


def tariffs_for(cfg: OcpiConfig, evse_index: int) -> list[TariffConfig]:
    return [t for t in cfg.tariffs if not t.evses or evse_index in t.evses]


def publish(cfg: OcpiConfig, store, now: datetime) -> list[dict]:
    """Store the configured tariffs as records (stamps kept when unchanged); drop removed ones."""
    docs = [store.put_if_changed(MODULE, t.id, dump(tariff_object(cfg, t, now)), now) for t in cfg.tariffs]
    keep = {t.id for t in cfg.tariffs}
    _, stored = store.list_records(MODULE, limit=10_000)
    for doc in stored:
        if doc.get("id") not in keep:
            store.delete_record(MODULE, doc["id"])
    return docs


def _round(x: float) -> float:
    return round(x, 4)  # OCPI `number`: 4 decimals


def session_cost(t: TariffConfig, energy_Wh: float, duration_s: float) -> dict[str, Price]:
    """{"energy", "time", "fixed", "total"} Prices of one session under tariff `t`."""
    billed_Wh = math.ceil(max(0.0, energy_Wh) / t.energy_step_Wh - 1e-9) * t.energy_step_Wh
    billed_s = math.ceil(max(0.0, duration_s) / t.time_step_s - 1e-9) * t.time_step_s
    energy = t.energy_price_per_kWh * billed_Wh / 1000.0
    time = t.time_price_per_hour * billed_s / 3600.0
    fixed = t.flat_price
    factor = 1.0 + t.vat_pct / 100.0

    def price(x: float) -> Price:
        return Price(excl_vat=_round(x), incl_vat=_round(x * factor))

    return {"energy": price(energy), "time": price(time), "fixed": price(fixed), "total": price(energy + time + fixed)}


async def tariffs_list(request: web.Request) -> web.Response:
    return await paginated(request, MODULE)


def add_routes(app: web.Application, v: str) -> None:
    app.router.add_get(f"{v}/{MODULE}", tariffs_list, name=MODULE, allow_head=False)
