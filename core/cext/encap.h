/* Envelopes around payloads: the WHITE beet HCI Ethernet encapsulation
 * (whitebeet-hci.md section 1.2) and the V2GTP header (charging-domain.md section 2.5).
 * Pure functions over caller buffers.
 */
#ifndef FV2G_ENCAP_H
#define FV2G_ENCAP_H

#include <stddef.h>
#include <stdint.h>

#include "fv2g_status.h"

#define FV2G_ETH_MAC_BYTES 6
#define FV2G_ETHERTYPE_HCI 0x6003
#define FV2G_ETH_HCI_HEADER_BYTES 18       /* dst, src, EtherType, 4-byte control header */
#define FV2G_ETH_MIN_FRAME_BYTES 60        /* without FCS; shorter frames are zero padded */
#define FV2G_ETH_CONTROL_VERSION 0x00
#define FV2G_ETH_CONTROL_TYPE_FRAMING 0x04
#define FV2G_ETH_MIN_HCI_FRAME_BYTES 8     /* smallest framing frame */

typedef struct {
    uint16_t ethertype;
    uint8_t version;
    uint8_t message_type;
    uint32_t frame_offset;                 /* of the framing frame inside the Ethernet frame */
    uint32_t frame_length;                 /* control header size field */
} fv2g_eth_view;

/* Builds dst | src | 0x6003 | 00 04 size | frame | zero padding to 60 bytes. Returns the
 * Ethernet frame length or a negative status. */
int32_t fv2g_eth_build(const uint8_t *dst_mac, const uint8_t *src_mac, const uint8_t *frame,
                       size_t frame_len, uint8_t *out, size_t out_cap);

/* Parses an Ethernet frame carrying one framing frame; trailing padding is ignored.
 * Errors: FV2G_ERR_TRUNCATED, _ETHERTYPE, _ENCAP_VERSION, _ENCAP_TYPE, _ENCAP_SIZE. */
int32_t fv2g_eth_parse(const uint8_t *data, size_t len, fv2g_eth_view *out);

#define FV2G_V2GTP_HEADER_BYTES 8
#define FV2G_V2GTP_VERSION 0x01
#define FV2G_V2GTP_INVERSE_VERSION 0xFE
#define FV2G_V2GTP_EXI 0x8001                 /* -2/DIN: EXI message; -20: SAP */
#define FV2G_V2GTP_MAINSTREAM 0x8002
#define FV2G_V2GTP_AC 0x8003
#define FV2G_V2GTP_DC 0x8004
#define FV2G_V2GTP_ACDP 0x8005
#define FV2G_V2GTP_WPT 0x8006
#define FV2G_V2GTP_SCHEDULE_RENEGOTIATION 0x8101
#define FV2G_V2GTP_METERING_CONFIRMATION 0x8102
#define FV2G_V2GTP_ACDP_SYSTEM_STATUS 0x8103
#define FV2G_V2GTP_PARKING_STATUS 0x8104
#define FV2G_V2GTP_SDP_REQUEST 0x9000
#define FV2G_V2GTP_SDP_RESPONSE 0x9001
#define FV2G_V2GTP_MANUFACTURER_FIRST 0xA000  /* 0xA000..0xFFFF: manufacturer specific */

typedef struct {
    uint8_t version;
    uint8_t inverse_version;
    uint16_t payload_type;
    uint32_t payload_length;
} fv2g_v2gtp_header;

/* 1 if payload_type is a type listed in section 2.5 or manufacturer specific, else 0. */
int fv2g_v2gtp_payload_type_known(uint16_t payload_type);

/* Writes the 8 header bytes. */
int32_t fv2g_v2gtp_build_header(uint16_t payload_type, uint32_t payload_length, uint8_t *out,
                                size_t out_cap);

/* Parses and checks the 8 header bytes at data (len >= 8): version/inverse, payload type,
 * payload length <= max_length. */
int32_t fv2g_v2gtp_parse_header(const uint8_t *data, size_t len, uint32_t max_length,
                                fv2g_v2gtp_header *out);

#endif
