"""freev2g ISO 15118 transport on a real network interface.

SDP (UDP port 15118, IPv6 link-local multicast ff02::1), V2GTP over TCP and over TLS
(charging-domain.md 2.4, 2.5; exi.md 6), a test PKI (`make pki`), and `WireMedium`: one V2G
connection carrying V2GTP payload bytes. The medium does not know the messages; a payload codec
(codec.py) turns messages into payloads and back.
"""
__version__ = "0.1.0"
