/* Ethernet encapsulation and V2GTP header; see encap.h. */
#include "encap.h"

#include <string.h>

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int32_t fv2g_eth_build(const uint8_t *dst_mac, const uint8_t *src_mac, const uint8_t *frame,
                       size_t frame_len, uint8_t *out, size_t out_cap)
{
    if (dst_mac == NULL || src_mac == NULL || (frame_len > 0 && frame == NULL))
        return FV2G_ERR_INVALID_ARGUMENT;
    if (frame_len > 0xFFFFu)
        return FV2G_ERR_ENCAP_SIZE;
    size_t total = FV2G_ETH_HCI_HEADER_BYTES + frame_len;
    if (total < FV2G_ETH_MIN_FRAME_BYTES)
        total = FV2G_ETH_MIN_FRAME_BYTES;
    if (out == NULL || out_cap < total)
        return FV2G_ERR_BUFFER_TOO_SMALL;
    memcpy(out, dst_mac, FV2G_ETH_MAC_BYTES);
    memcpy(out + 6, src_mac, FV2G_ETH_MAC_BYTES);
    put_u16(out + 12, FV2G_ETHERTYPE_HCI);
    out[14] = FV2G_ETH_CONTROL_VERSION;
    out[15] = FV2G_ETH_CONTROL_TYPE_FRAMING;
    put_u16(out + 16, (uint32_t)frame_len);
    if (frame_len)
        memcpy(out + FV2G_ETH_HCI_HEADER_BYTES, frame, frame_len);
    memset(out + FV2G_ETH_HCI_HEADER_BYTES + frame_len, 0,
           total - FV2G_ETH_HCI_HEADER_BYTES - frame_len);
    return (int32_t)total;
}

int32_t fv2g_eth_parse(const uint8_t *data, size_t len, fv2g_eth_view *out)
{
    if (out == NULL || (len > 0 && data == NULL))
        return FV2G_ERR_INVALID_ARGUMENT;
    if (len < 14)
        return FV2G_ERR_TRUNCATED;
    out->ethertype = get_u16(data + 12);
    if (out->ethertype != FV2G_ETHERTYPE_HCI)
        return FV2G_ERR_ETHERTYPE;
    if (len < FV2G_ETH_HCI_HEADER_BYTES)
        return FV2G_ERR_TRUNCATED;
    out->version = data[14];
    out->message_type = data[15];
    out->frame_offset = FV2G_ETH_HCI_HEADER_BYTES;
    out->frame_length = get_u16(data + 16);
    if (out->version != FV2G_ETH_CONTROL_VERSION)
        return FV2G_ERR_ENCAP_VERSION;
    if (out->message_type != FV2G_ETH_CONTROL_TYPE_FRAMING)
        return FV2G_ERR_ENCAP_TYPE;
    if (out->frame_length < FV2G_ETH_MIN_HCI_FRAME_BYTES ||
        out->frame_length > len - FV2G_ETH_HCI_HEADER_BYTES)
        return FV2G_ERR_ENCAP_SIZE;
    return FV2G_OK;
}

int fv2g_v2gtp_payload_type_known(uint16_t payload_type)
{
    switch (payload_type) {
    case FV2G_V2GTP_EXI:
    case FV2G_V2GTP_MAINSTREAM:
    case FV2G_V2GTP_AC:
    case FV2G_V2GTP_DC:
    case FV2G_V2GTP_ACDP:
    case FV2G_V2GTP_WPT:
    case FV2G_V2GTP_SCHEDULE_RENEGOTIATION:
    case FV2G_V2GTP_METERING_CONFIRMATION:
    case FV2G_V2GTP_ACDP_SYSTEM_STATUS:
    case FV2G_V2GTP_PARKING_STATUS:
    case FV2G_V2GTP_SDP_REQUEST:
    case FV2G_V2GTP_SDP_RESPONSE:
        return 1;
    default:
        return payload_type >= FV2G_V2GTP_MANUFACTURER_FIRST;
    }
}

int32_t fv2g_v2gtp_build_header(uint16_t payload_type, uint32_t payload_length, uint8_t *out,
                                size_t out_cap)
{
    if (out == NULL || out_cap < FV2G_V2GTP_HEADER_BYTES)
        return FV2G_ERR_BUFFER_TOO_SMALL;
    out[0] = FV2G_V2GTP_VERSION;
    out[1] = FV2G_V2GTP_INVERSE_VERSION;
    put_u16(out + 2, payload_type);
    out[4] = (uint8_t)(payload_length >> 24);
    out[5] = (uint8_t)(payload_length >> 16);
    out[6] = (uint8_t)(payload_length >> 8);
    out[7] = (uint8_t)payload_length;
    return FV2G_V2GTP_HEADER_BYTES;
}

int32_t fv2g_v2gtp_parse_header(const uint8_t *data, size_t len, uint32_t max_length,
                                fv2g_v2gtp_header *out)
{
    if (out == NULL || (len > 0 && data == NULL))
        return FV2G_ERR_INVALID_ARGUMENT;
    if (len < FV2G_V2GTP_HEADER_BYTES)
        return FV2G_ERR_TRUNCATED;
    out->version = data[0];
    out->inverse_version = data[1];
    out->payload_type = get_u16(data + 2);
    out->payload_length = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) |
                          ((uint32_t)data[6] << 8) | data[7];
    if (out->version != FV2G_V2GTP_VERSION || out->inverse_version != FV2G_V2GTP_INVERSE_VERSION)
        return FV2G_ERR_V2GTP_VERSION;
    if (!fv2g_v2gtp_payload_type_known(out->payload_type))
        return FV2G_ERR_V2GTP_PAYLOAD_TYPE;
    if (out->payload_length > max_length)
        return FV2G_ERR_V2GTP_LENGTH;
    return FV2G_OK;
}
