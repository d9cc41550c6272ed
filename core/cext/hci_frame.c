/* WHITE beet HCI framing protocol; see hci_frame.h and whitebeet-hci.md section 2. */
#include "hci_frame.h"

#include <stdlib.h>
#include <string.h>

struct fv2g_decoder {
    uint32_t max_payload;
    int accept_zero_checksum;
    uint32_t pending;          /* bytes held in buf; buf[0] == 0xC0 whenever pending > 0 */
    fv2g_decoder_stats stats;
    uint8_t buf[];             /* max_payload + 8: one candidate frame */
};

/* Section 2.2: one's-complement sum with end-around carry, checksum byte counted as 0x00. */
uint8_t fv2g_frame_checksum(const uint8_t *frame, size_t len)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += frame[i];
    if (len >= 2)
        sum -= frame[len - 2];
    while (sum >> 16)
        sum = (sum & 0xFFFFu) + (sum >> 16);
    sum = (sum & 0xFFu) + (sum >> 8);
    sum = (sum & 0xFFu) + (sum >> 8);
    if (sum == 0xFFu)
        return 0xFF; /* ~0xFF would be 0x00, which means "not computed" */
    return (uint8_t)(~sum & 0xFFu);
}

int32_t fv2g_frame_encode(uint8_t module_id, uint8_t sub_id, uint8_t request_id,
                          const uint8_t *payload, size_t payload_len, int with_checksum,
                          uint32_t max_payload, uint8_t *out, size_t out_cap)
{
    if (max_payload > FV2G_FRAME_WIRE_MAX_PAYLOAD || (payload_len > 0 && payload == NULL))
        return FV2G_ERR_INVALID_ARGUMENT;
    if (payload_len > max_payload)
        return FV2G_ERR_FRAME_TOO_LONG;
    size_t total = payload_len + FV2G_FRAME_OVERHEAD_BYTES;
    if (out == NULL || out_cap < total)
        return FV2G_ERR_BUFFER_TOO_SMALL;
    out[0] = FV2G_FRAME_START;
    out[1] = module_id;
    out[2] = sub_id;
    out[3] = request_id;
    out[4] = (uint8_t)(payload_len >> 8);
    out[5] = (uint8_t)payload_len;
    if (payload_len)
        memcpy(out + FV2G_FRAME_HEADER_BYTES, payload, payload_len);
    out[total - 2] = FV2G_CHECKSUM_NONE;
    out[total - 1] = FV2G_FRAME_END;
    if (with_checksum)
        out[total - 2] = fv2g_frame_checksum(out, total);
    return (int32_t)total;
}

/* Verdict on a candidate starting with 0xC0 of which `avail` bytes are present.
 * > 0: the candidate is a complete valid frame of that many bytes.
 * == 0: more bytes are needed; *need is the total required.
 * < 0: rejected, a status code. */
static int32_t judge_candidate(const uint8_t *p, size_t avail, uint32_t max_payload,
                               int accept_zero_checksum, uint32_t *need)
{
    if (avail < FV2G_FRAME_HEADER_BYTES) {
        *need = FV2G_FRAME_HEADER_BYTES;
        return 0;
    }
    uint32_t payload_len = ((uint32_t)p[4] << 8) | p[5];
    if (payload_len > max_payload)
        return FV2G_ERR_FRAME_TOO_LONG;
    uint32_t total = payload_len + FV2G_FRAME_OVERHEAD_BYTES;
    if (avail < total) {
        *need = total;
        return 0;
    }
    if (p[total - 1] != FV2G_FRAME_END)
        return FV2G_ERR_BAD_END_MARKER;
    uint8_t received = p[total - 2];
    if (received == FV2G_CHECKSUM_NONE)
        return accept_zero_checksum ? (int32_t)total : FV2G_ERR_UNCHECKED_REFUSED;
    if (fv2g_frame_checksum(p, total) != received)
        return FV2G_ERR_BAD_CHECKSUM;
    return (int32_t)total;
}

int32_t fv2g_frame_parse(const uint8_t *data, size_t len, uint32_t max_payload,
                         int accept_zero_checksum, fv2g_frame_view *out)
{
    uint32_t need = 0;
    if (out == NULL || max_payload > FV2G_FRAME_WIRE_MAX_PAYLOAD)
        return FV2G_ERR_INVALID_ARGUMENT;
    if (len == 0)
        return FV2G_ERR_TRUNCATED;
    if (data[0] != FV2G_FRAME_START)
        return FV2G_ERR_BAD_START_MARKER;
    int32_t verdict = judge_candidate(data, len, max_payload, accept_zero_checksum, &need);
    if (verdict == 0)
        return FV2G_ERR_TRUNCATED;
    if (verdict < 0)
        return verdict;
    if ((size_t)verdict != len)
        return FV2G_ERR_TRAILING_BYTES;
    out->module_id = data[1];
    out->sub_id = data[2];
    out->request_id = data[3];
    out->checksum = data[len - 2];
    out->payload_offset = FV2G_FRAME_HEADER_BYTES;
    out->payload_length = (uint32_t)len - FV2G_FRAME_OVERHEAD_BYTES;
    return FV2G_OK;
}

fv2g_decoder *fv2g_decoder_new(uint32_t max_payload, int accept_zero_checksum)
{
    if (max_payload > FV2G_FRAME_WIRE_MAX_PAYLOAD)
        return NULL;
    fv2g_decoder *dec = malloc(sizeof(*dec) + max_payload + FV2G_FRAME_OVERHEAD_BYTES);
    if (dec == NULL)
        return NULL;
    dec->max_payload = max_payload;
    dec->accept_zero_checksum = accept_zero_checksum ? 1 : 0;
    fv2g_decoder_reset(dec);
    return dec;
}

void fv2g_decoder_free(fv2g_decoder *dec)
{
    free(dec);
}

void fv2g_decoder_reset(fv2g_decoder *dec)
{
    dec->pending = 0;
    memset(&dec->stats, 0, sizeof(dec->stats));
}

uint32_t fv2g_decoder_pending(const fv2g_decoder *dec)
{
    return dec->pending;
}

void fv2g_decoder_get_stats(const fv2g_decoder *dec, fv2g_decoder_stats *out)
{
    *out = dec->stats;
}

static void count_rejection(fv2g_decoder *dec, int32_t verdict)
{
    switch (verdict) {
    case FV2G_ERR_FRAME_TOO_LONG:
        dec->stats.too_long++;
        break;
    case FV2G_ERR_BAD_END_MARKER:
        dec->stats.bad_end_marker++;
        break;
    default: /* bad or refused zero checksum */
        dec->stats.bad_checksum++;
        break;
    }
    dec->stats.garbage_bytes++; /* the candidate's start marker */
}

/* Keeps buf from the first 0xC0 in src[0..n) on (src points into buf); the rest is garbage. */
static void rebase_buffer(fv2g_decoder *dec, const uint8_t *src, size_t n)
{
    const uint8_t *start = n ? memchr(src, FV2G_FRAME_START, n) : NULL;
    if (start == NULL) {
        dec->stats.garbage_bytes += n;
        dec->pending = 0;
        return;
    }
    size_t skipped = (size_t)(start - src);
    dec->stats.garbage_bytes += skipped;
    dec->pending = (uint32_t)(n - skipped);
    memmove(dec->buf, start, dec->pending);
}

/* Appends one accepted frame to the batch; returns 0 if it does not fit. */
static int emit(fv2g_decoder *dec, const uint8_t *frame, uint32_t total, fv2g_frame_batch *out)
{
    uint32_t payload_len = total - FV2G_FRAME_OVERHEAD_BYTES;
    if (out->count >= out->capacity || out->payload_capacity - out->payload_used < payload_len) {
        out->full = 1;
        return 0;
    }
    uint32_t i = out->count++;
    out->module_id[i] = frame[1];
    out->sub_id[i] = frame[2];
    out->request_id[i] = frame[3];
    out->checksum[i] = frame[total - 2];
    out->payload_offset[i] = out->payload_used;
    out->payload_length[i] = payload_len;
    memcpy(out->payload + out->payload_used, frame + FV2G_FRAME_HEADER_BYTES, payload_len);
    out->payload_used += payload_len;
    dec->stats.frames++;
    dec->stats.frame_bytes += total;
    if (frame[total - 2] == FV2G_CHECKSUM_NONE)
        dec->stats.unchecked++;
    return 1;
}

size_t fv2g_decoder_feed(fv2g_decoder *dec, const uint8_t *data, size_t len,
                         fv2g_frame_batch *out)
{
    size_t pos = 0;
    out->count = 0;
    out->full = 0;
    out->payload_used = 0;
    if (len == 0)
        data = NULL;

    for (;;) {
        uint32_t need = 0;
        if (dec->pending > 0) {
            /* A candidate straddles feed calls: grow it from the input as far as needed. */
            int32_t verdict = judge_candidate(dec->buf, dec->pending, dec->max_payload,
                                              dec->accept_zero_checksum, &need);
            if (verdict == 0) {
                size_t take = need - dec->pending;
                if (take > len - pos)
                    take = len - pos;
                if (take == 0)
                    break;
                memcpy(dec->buf + dec->pending, data + pos, take);
                dec->pending += (uint32_t)take;
                pos += take;
                continue;
            }
            if (verdict > 0) {
                if (!emit(dec, dec->buf, (uint32_t)verdict, out))
                    break;
                rebase_buffer(dec, dec->buf + verdict, dec->pending - (uint32_t)verdict);
            } else {
                /* Resume the search at the byte after this candidate's start marker. */
                count_rejection(dec, verdict);
                rebase_buffer(dec, dec->buf + 1, dec->pending - 1);
            }
            continue;
        }

        if (pos == len)
            break;
        const uint8_t *start = memchr(data + pos, FV2G_FRAME_START, len - pos);
        if (start == NULL) {
            dec->stats.garbage_bytes += len - pos;
            pos = len;
            break;
        }
        size_t at = (size_t)(start - data);
        dec->stats.garbage_bytes += at - pos;
        pos = at;
        int32_t verdict = judge_candidate(data + pos, len - pos, dec->max_payload,
                                          dec->accept_zero_checksum, &need);
        if (verdict == 0) {
            /* Incomplete: the tail is shorter than one frame, so it fits the buffer. */
            dec->pending = (uint32_t)(len - pos);
            memcpy(dec->buf, data + pos, dec->pending);
            pos = len;
            break;
        }
        if (verdict > 0) {
            if (!emit(dec, data + pos, (uint32_t)verdict, out))
                break;
            pos += (size_t)verdict;
        } else {
            count_rejection(dec, verdict);
            pos += 1;
        }
    }
    dec->stats.bytes_in += pos;
    return pos;
}
