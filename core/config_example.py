"""The commented example station.toml printed by `freev2g config example` (kept out of
config.py, which holds the schema)."""

EXAMPLE_STATION_TOML = '''\
# freev2g station configuration (freev2g config example > station.toml)
# Precedence: command-line options > this file > defaults. `freev2g config check FILE` checks it.

# journal = "freev2g-journal.sqlite"   # session journal (sqlite); top-level keys precede all tables
# journal_durability = "process"       # or "power_loss" (an fsync per record)

[station]
id = "freev2g-station"            # OCPP identity, OCPI evse prefix
vendor = "freev2g"
model = "freev2g-sim"

[evse]                            # EVerest EvseManager keys: same names; values are the
                                  # EvseManager defaults except where marked "default:"
connector_id = 1
evse_id = "DE*PNX*E1234567*1"
charge_mode = "DC"                # "AC" | "DC"; default: "AC" (this example is a DC station)
max_current_import_A = 32.0       # AC: per phase; DC: see [dc]
ac_nominal_voltage = 230.0
payment_enable_eim = true         # EIM: RFID card, app, uplink (OCPP) authorization
payment_enable_contract = true    # Plug & Charge
disable_authentication = true     # free service; default: false (false: every session needs an
                                  # authorization from a token, a policy plugin or an uplink)
dc_isolation_voltage_V = 0        # 0 = IEC 61851-23:2023 CC.4.1.2 test voltage
internal_over_voltage_duration_ms = 400
state_F_after_fault_ms = 300
sae_j2847_2_bpt_enabled = false
# AC with ISO 15118 (charge_mode = "AC"):
# ac_hlc_enabled = false          # offer ISO 15118 on AC
# ac_hlc_use_5percent = false     # 5 % duty: ask the EV for SLAC first
# ac_enforce_hlc = false          # with 5 %: wait for SLAC even when EIM is there
# supported_iso_ac_bpt = false    # offer ISO 15118-20 AC BPT

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

# [uplinks.ocpp]                  # needs freev2g-ocpp
# url = "ws://127.0.0.1:9000/ocpp"
# version = "2.0.1"
'''

EXAMPLE_SCENARIO_TOML = '''\
# freev2g scenario (freev2g scenario example > scenario.toml; simulate --scenario scenario.toml).
# Steps run in order; each [[steps]] names an action and its keys.
name = "charge-pause-resume"

[[steps]]
action = "plug_in"
cable_rating_A = 32.0

[[steps]]
action = "start_charging"         # mode: the simulation's --mode unless given

[[steps]]
action = "sleep"
duration_s = 30

[[steps]]
action = "pause"

[[steps]]
action = "sleep"
duration_s = 10

[[steps]]
action = "resume"

[[steps]]
action = "wait_for"               # until the V2G session is over
variable = "v2g_session_finished"
fresh = true                      # a new end, not the one the pause published
timeout_s = 900

[[steps]]
action = "unplug"

# Other actions: stop, renegotiate, update_soc (soc_pct), set_fault (error),
# inject / clear (fault: imd_fault, over_voltage, psu_fault, lock_failure, cp_short,
# missing_diode, unplug, rcd_trip, contactor_welded), remote_stop, link_timeout.
'''
