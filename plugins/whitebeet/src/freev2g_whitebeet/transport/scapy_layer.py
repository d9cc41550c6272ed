"""scapy layer for the HCI Ethernet encapsulation (whitebeet-hci.md 1.2), for capture and pcap.

Frames on the wire are built and parsed by the C core (freev2g.framing); this layer only lets
scapy show and write them. Imports from scapy.packet / scapy.layers.l2, never scapy.all.
"""
from __future__ import annotations

from scapy.fields import ByteField, FieldLenField, StrLenField
from scapy.layers.l2 import Ether
from scapy.packet import Packet, bind_layers

ETHERTYPE_HCI = 0x6003


class WhitebeetHci(Packet):
    name = "WHITE beet HCI"
    fields_desc = [
        ByteField("version", 0),
        ByteField("message_type", 4),
        FieldLenField("size", None, length_of="frame", fmt="!H"),
        StrLenField("frame", b"", length_from=lambda pkt: pkt.size),
    ]

    def extract_padding(self, s):
        return b"", s


bind_layers(Ether, WhitebeetHci, type=ETHERTYPE_HCI)
