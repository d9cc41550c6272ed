"""The commented example station.toml printed by `freev2g config example` (kept out of
config.py, which holds the schema)."""

EXAMPLE_STATION_TOML = '''\
# freev2g station configuration (freev2g config example > station.toml)

[station]
id = "freev2g-station"            # OCPP identity, OCPI evse prefix
vendor = "freev2g"
model = "freev2g-sim"

[evse]                            # EVerest EvseManager keys, same names and defaults
connector_id = 1
evse_id = "DE*PNX*E1234567*1"
charge_mode = "DC"                # "AC" | "DC"
max_current_import_A = 32.0       # AC: per phase; DC: see [dc]
ac_nominal_voltage = 230.0
disable_authentication = true     # free service: charge without an authorization
dc_isolation_voltage_V = 0        # 0 = IEC 61851-23:2023 CC.4.1.2 test voltage
internal_over_voltage_duration_ms = 400
state_F_after_fault_ms = 300
sae_j2847_2_bpt_enabled = false

[dc]                              # rated DC output
max_voltage_V = 1000.0
max_current_A = 200.0
max_power_W = 150000.0

[board]                           # drivers by name (freev2g board list)
bsp = "sim"
imd = "sim"
power_supply = "sim"
connector_lock = "sim"
power_meter = "sim"

[board.options.sim]               # options of the "sim" driver

[link]
name = "virtual"                  # "virtual" (no hardware) | "whitebeet"

# journal = "freev2g-journal.sqlite"
# journal_durability = "process"   # or "power_loss" (an fsync per record)

# [uplinks.ocpp]                  # needs freev2g-ocpp
# url = "ws://127.0.0.1:9000/ocpp"
# version = "2.0.1"
'''
