"""Public EXI vectors (fact sheet /work/shared/spec/exi.md §5, §7, §8.5) as (protocol, hex)."""

SAP_REQ_DIN = ("sap", "80 00 DB AB 93 71 D3 23 4B 71 D1 B9 81 89 91 89 D1 91 81 89 91 D2 6B 9B 3A 23 2B"
                      " 30 02 00 00 04 00 40")                     # §5.1, pyPLC DemoExiLog.txt
SAP_RES = ("sap", "80 40 00 40")                                    # §5.1, libcbv2g app_handshake
SAP_REQ_DIN_ISO2 = ("sap", "8000DBAB9371D3234B71D1B981899189D191818991D26B9B3A232B30020000000001D75726E3A"
                           "69736F3A31353131383A323A323031333A4D73674465660040000080880")  # V2Gdecoder README
DIN_CURRENT_DEMAND_REQ = ("din", "80 9A 02 03 AF 96 E3 5A 4F B8 DE 50 D1 40 12 40 C0 C0 B4 60 01 81 05 80"
                                 " 48 0C 08 36 01 00 C1 43 34 08 00")  # §5.2, pyPLC RawExiLog.txt
DIN_SESSION_SETUP_REQ = ("din", "80 9A 02 00 00 00 00 00 00 00 00 11 D0 1A 12 1D C9 83 CD 60 00")  # §5.4
ISO2_SESSION_SETUP_RES = ("iso2", "80 98 02 0C 0C 4C 8C CD 0D 4D 8D D1 E0 00 39 19 49 04 C8 CD 14 D0 D5 08"
                                  " DC E1 0C 80")              # §5.3, ecog-io/iso15118#197
ISO2_SESSION_SETUP_RES_CTRL = ("iso2", "80 98 00 40 11 E0 00 28 04 08 0C 10 14 18 1C 20 12 B3 5D E7 40")  # #242
ISO2_SIGNED_CPD_RES = ("iso2", (  # §5.6, FlUxIuS/V2Gdecoder README (RISE-V2G / EXIficient)
    "809802107f860d7bae65dd8a891a1d1d1c0e8bcbddddddcb9dcccb9bdc99cbd5148bd8d85b9bdb9a58d85b0b595e1a50d5a1d1d1"
    "c0e8bcbddddddcb9dcccb9bdc99cbcc8c0c0c4bcc0d0bde1b5b191cda59cb5b5bdc9948d958d91cd84b5cda184c8d4d9002b4b2189"
    "0623696431024687474703a2f2f7777772e77332e6f72672f54522f63616e6f6e6963616c2d6578694852d0e8e8e0745e5eeeeeee"
    "5cee665cdee4ce5e646060625e60685ef0dad8cadcc646e6d0c2646a6c84165aa773adf12a841e302f171698e9c4d1e6bb2afdac13"
    "826f13ba6a09532c82a2841400000000000501c030a0161005696431001000100240880e201081203840110260a88032940000081"
    "030c08018503f03102400c0c3010031039804461800080"))
ISO20_DC_CHARGE_LOOP_REQ = ("iso20-dc", "80 34 04 2D 16 6F 29 FB 80 EA 56 0A EB DB FB 30 62 81 00 12 00 61 64"
                                        " 00 0A 02 00 24 00 C8 00")  # §5.5, libcbv2g dc_charge_loop
# §7: must be rejected (ecog-io/iso15118#280: 1-bit code where the state needs 2 bits)
ISO20_BAD_AUTH_SETUP_RES = ("iso20-common", "80 0C 04 79 0C 8A DC EE EE 09 68 8D 6C AC 3A 60 62 00 02 00")

VALID = [SAP_REQ_DIN, SAP_RES, SAP_REQ_DIN_ISO2, DIN_CURRENT_DEMAND_REQ, DIN_SESSION_SETUP_REQ,
         ISO2_SESSION_SETUP_RES, ISO2_SESSION_SETUP_RES_CTRL, ISO2_SIGNED_CPD_RES, ISO20_DC_CHARGE_LOOP_REQ]


def data(vector: tuple[str, str]) -> bytes:
    return bytes.fromhex(vector[1])

# A whole DIN 70121 session (pyPLC DemoExiLog.txt: "Dh" SAP response, "ED" EV->EVSE, "DD" EVSE->EV)
# as (protocol, expected body element, hex).
DIN_SESSION = [(("sap" if tag == "Dh" else "din"), name, h) for tag, name, h in (
    ("Dh", "supportedAppProtocolRes", "80400040"),
    ("ED", "SessionSetupReq", "809a02000000000000000011d00000"),
    ("DD", "SessionSetupRes", "809A022189CBF75B9625A951E020040080"),
    ("ED", "ServiceDiscoveryReq", "809a022189cbf75b9625a95198"),
    ("DD", "ServiceDiscoveryRes", "809A022189CBF75B9625A951A00120024100C4"),
    ("ED", "ServicePaymentSelectionReq", "809a022189cbf75b9625a951b2001280"),
    ("DD", "ServicePaymentSelectionRes", "809A022189CBF75B9625A951C000"),
    ("ED", "ContractAuthenticationReq", "809a022189cbf75b9625a950b8"),
    ("DD", "ContractAuthenticationRes", "809A022189CBF75B9625A950C00200"),
    ("DD", "ContractAuthenticationRes", "809A022189CBF75B9625A950C00000"),
    ("ED", "ChargeParameterDiscoveryReq", "809a022189cbf75b9625a9507191400500c8c82324701900"),
    ("DD", "ChargeParameterDiscoveryRes", "809A022189CBF75B9625A9508002002802800007FFFFF8383FFFC04550000000010185704"
                                          "0101C29C8408143C894080C03C08143403C4406010200"),
    ("DD", "ChargeParameterDiscoveryRes", "809A022189CBF75B9625A9508000002802800007FFFFF8383FFFC04550000000010187104"
                                          "8101C2209C08143C894080C03C08143403C4406010200"),
    ("ED", "CableCheckReq", "809a022189cbf75b9625a95011400500"),
    ("DD", "CableCheckRes", "809A022189CBF75B9625A95020000200000400"),
    ("DD", "CableCheckRes", "809A022189CBF75B9625A95020004080000000"),
    ("ED", "PreChargeReq", "809a022189cbf75b9625a95151400500c9cc0206401000"),
    ("DD", "PreChargeRes", "809A022189CBF75B9625A9516000408000010284904800"),
    ("ED", "PowerDeliveryReq", "809a022189cbf75b9625a9513022800a0800"),
)]

# -20 AC BPT_Dynamic AC_ChargeLoopReq from EVerest/cbexigen#52 (EcoG EVCC log with its decoded values)
ISO20_AC_CHARGE_LOOP_REQ_BPT = ("iso20-ac", "8008040c7d2a5692cfa4d9093aaefb9062803403c20c0a01060780831130418560"
                                            "111000c844186400910602844180590fa00240")
# -20 DC_ChargeLoopReq from EVerest/cbexigen#71, written by the encoder that issue reports as
# coding a second control mode: after the first (BPT_Dynamic) one the stream is not the schema's.
ISO20_DC_CHARGE_LOOP_REQ_TWO_MODES = ("iso20-dc", (
    "80340474788aa7084b74580d0e0dffcb4b78403200b05904ae1f101021807c201fc2447409021d4600810ea30040855120"
    "1fc3403c0fe0c807f0d00f03f87c1181fc028102141380207f0a09c0103f87b0981021d460040855120990000008b00028"))

VALID += [(p, h) for p, _, h in DIN_SESSION] + [ISO20_AC_CHARGE_LOOP_REQ_BPT]
