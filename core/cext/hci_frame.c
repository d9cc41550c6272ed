/* WHITE beet HCI framing protocol; see hci_frame.h and whitebeet-hci.md section 2.
 *
 * Resynchronisation stays linear in the input (issue #10). After a rejected candidate the
 * search resumes one byte after its start marker (2.8), so the candidates that follow overlap
 * the bytes the rejected one announced, up to a whole frame each. Two things keep the decoder
 * from reading those bytes again for every candidate:
 *  - running sums: a candidate rejected for its checksum leaves the prefix sums of its bytes in
 *    a ring indexed by stream offset; a later candidate that starts inside them gets its sum
 *    from two ring entries and reads only the bytes past the known end;
 *  - a moving head in the candidate buffer (twice the largest frame): bytes dropped from the
 *    front move the head; the rest is moved down only when a candidate would not fit behind
 *    it, which takes more than one largest frame of dropped bytes since the last move.
 * Once a held candidate lies wholly in the caller's input, decoding goes on there. Every byte
 * is thus searched at most twice, read for sums at most twice and copied at most three times
 * (fv2g_decoder_work counts it; tests/core/test_framing_resync_linear.py bounds it).
 */
#include "hci_frame.h"
#include "hci_sums.h"

#include <stdlib.h>
#include <string.h>

struct fv2g_decoder {
    uint32_t max_payload;
    int accept_zero_checksum;
    uint32_t frame_cap;        /* max_payload + 8: the largest candidate */
    uint32_t head;             /* buf[head] == 0xC0 whenever pending > 0 */
    uint32_t pending;          /* candidate bytes held in buf[head .. head + pending) */
    fv2g_sums sums;            /* running sums over frame_cap bytes (hci_sums.h) */
    fv2g_decoder_stats stats;
    fv2g_decoder_work work;
    uint8_t *buf;              /* 2 * frame_cap bytes, after the ring */
    uint32_t ring[];           /* fv2g_sums_ring_len(frame_cap) entries for `sums` */
};

/* Section 2.2 steps 3-5 on a plain byte sum that leaves out the checksum byte. */
static uint8_t fold_checksum(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFFu) + (sum >> 16);
    sum = (sum & 0xFFu) + (sum >> 8);
    sum = (sum & 0xFFu) + (sum >> 8);
    if (sum == 0xFFu)
        return 0xFF; /* ~0xFF would be 0x00, which means "not computed" */
    return (uint8_t)(~sum & 0xFFu);
}

static uint64_t byte_sum(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += p[i];
    return sum;
}

/* Section 2.2: one's-complement sum with end-around carry, checksum byte counted as 0x00. */
uint8_t fv2g_frame_checksum(const uint8_t *frame, size_t len)
{
    uint64_t sum = byte_sum(frame, len);
    if (len >= 2)
        sum -= frame[len - 2];
    return fold_checksum(sum);
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

/* Section 2.2 check of a complete candidate p[0..total) at stream offset `at`. A candidate
 * inside known running sums costs only the bytes past them; a fresh one is summed directly
 * (valid traffic stays on this path) and, if rejected, leaves its running sums behind for the
 * candidates that start inside it. */
FV2G_HOT int checksum_matches(fv2g_decoder *dec, const uint8_t *p, uint64_t at, uint32_t total,
                              uint8_t received)
{
    uint64_t sum;
    int fresh = !fv2g_sums_cover(&dec->sums, at);
    if (fresh) {
        sum = byte_sum(p, total);
        dec->work.summed_bytes += total;
    } else {
        uint32_t start = fv2g_sums_at(&dec->sums, at);
        dec->work.summed_bytes += fv2g_sums_extend(&dec->sums, p, at, at + total);
        sum = (uint32_t)(fv2g_sums_at(&dec->sums, at + total) - start);
    }
    if (fold_checksum(sum - received) == received)
        return 1;
    if (fresh) {
        fv2g_sums_restart(&dec->sums, at);
        dec->work.summed_bytes += fv2g_sums_extend(&dec->sums, p, at, at + total);
    }
    return 0;
}

/* Verdict on a candidate starting with 0xC0 of which `avail` bytes are present.
 * > 0: the candidate is a complete valid frame of that many bytes.
 * == 0: more bytes are needed; *need is the total required.
 * < 0: rejected, a status code.
 * dec == NULL: a single frame (plain checksum); otherwise p[0] is at stream offset `at`. */
FV2G_HOT int32_t judge_candidate(const uint8_t *p, size_t avail, uint32_t max_payload,
                               int accept_zero_checksum, uint32_t *need,
                               fv2g_decoder *dec, uint64_t at)
{
    if (dec != NULL)
        dec->work.checks++;
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
    int ok = dec == NULL ? fv2g_frame_checksum(p, total) == received
                         : checksum_matches(dec, p, at, total, received);
    return ok ? (int32_t)total : FV2G_ERR_BAD_CHECKSUM;
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
    int32_t verdict = judge_candidate(data, len, max_payload, accept_zero_checksum, &need, NULL, 0);
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

/* ---- streaming decoder ---- */

fv2g_decoder *fv2g_decoder_new(uint32_t max_payload, int accept_zero_checksum)
{
    if (max_payload > FV2G_FRAME_WIRE_MAX_PAYLOAD)
        return NULL;
    uint32_t frame_cap = max_payload + FV2G_FRAME_OVERHEAD_BYTES;
    size_t ring_bytes = (size_t)fv2g_sums_ring_len(frame_cap) * sizeof(uint32_t);
    fv2g_decoder *dec = malloc(sizeof(*dec) + ring_bytes + 2 * (size_t)frame_cap);
    if (dec == NULL)
        return NULL;
    dec->max_payload = max_payload;
    dec->accept_zero_checksum = accept_zero_checksum ? 1 : 0;
    dec->frame_cap = frame_cap;
    dec->buf = (uint8_t *)dec->ring + ring_bytes;
    fv2g_decoder_reset(dec);
    return dec;
}

void fv2g_decoder_free(fv2g_decoder *dec)
{
    free(dec);
}

void fv2g_decoder_reset(fv2g_decoder *dec)
{
    dec->head = 0;
    dec->pending = 0;
    fv2g_sums_init(&dec->sums, dec->ring, dec->frame_cap);
    memset(&dec->stats, 0, sizeof(dec->stats));
    memset(&dec->work, 0, sizeof(dec->work));
}

uint32_t fv2g_decoder_pending(const fv2g_decoder *dec)
{
    return dec->pending;
}

void fv2g_decoder_get_stats(const fv2g_decoder *dec, fv2g_decoder_stats *out)
{
    *out = dec->stats;
}

void fv2g_decoder_get_work(const fv2g_decoder *dec, fv2g_decoder_work *out)
{
    *out = dec->work;
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

/* The first 0xC0 in p[0..n), or NULL. In valid traffic it is p[0], after a rejected
 * near-frame a few bytes on: test 8 bytes at once before calling memchr. */
static inline const uint8_t *find_start(const uint8_t *p, size_t n)
{
    if (n == 0)
        return NULL;
    if (p[0] == FV2G_FRAME_START)
        return p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
    if (n >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        w ^= 0xC0C0C0C0C0C0C0C0ull; /* a 0xC0 byte becomes 0x00 */
        /* High bit set in each byte that is 0x00; the lowest one is exact (a borrow only
         * reaches bytes above a zero byte), and the lowest address is the lowest byte. */
        uint64_t zero = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
        if (zero)
            return p + (__builtin_ctzll(zero) >> 3);
        return n > 8 ? memchr(p + 8, FV2G_FRAME_START, n - 8) : NULL;
    }
#endif
    return memchr(p + 1, FV2G_FRAME_START, n - 1);
}

/* Drops n held bytes (an emitted frame, or a rejected start marker) and moves the head to the
 * next 0xC0 among the rest; the bytes before it are garbage. */
static void drop_front(fv2g_decoder *dec, uint32_t n)
{
    const uint8_t *rest = dec->buf + dec->head + n;
    uint32_t left = dec->pending - n;
    const uint8_t *start = find_start(rest, left);
    if (start == NULL) {
        dec->work.scanned_bytes += left;
        dec->stats.garbage_bytes += left;
        dec->head = 0;
        dec->pending = 0;
        return;
    }
    uint32_t skipped = (uint32_t)(start - rest);
    dec->work.scanned_bytes += skipped + 1;
    dec->stats.garbage_bytes += skipped;
    dec->head += n + skipped;
    dec->pending = left - skipped;
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
    const uint64_t base = dec->stats.bytes_in; /* stream offset of data[0] */
    out->count = 0;
    out->full = 0;
    out->payload_used = 0;
    if (len == 0)
        data = NULL;
    /* Running sums over bytes that are not held here may describe another caller's buffer
     * (after a full batch the rest of the input is passed again, by contract only). */
    if (dec->pending == 0)
        dec->sums.valid = 0;

    for (;;) {
        uint32_t need = 0;
        if (dec->pending > 0) {
            /* A candidate straddles feed calls: grow it from the input as far as needed. */
            uint8_t *cand = dec->buf + dec->head;
            int32_t verdict = judge_candidate(cand, dec->pending, dec->max_payload,
                                              dec->accept_zero_checksum, &need,
                                              dec, base + pos - dec->pending);
            if (verdict == 0) {
                size_t take = need - dec->pending;
                if (take > len - pos)
                    take = len - pos;
                if (take == 0)
                    break;
                if (dec->head + need > 2 * dec->frame_cap) {
                    memmove(dec->buf, cand, dec->pending);
                    dec->work.copied_bytes += dec->pending;
                    dec->head = 0;
                }
                memcpy(dec->buf + dec->head + dec->pending, data + pos, take);
                dec->work.copied_bytes += take;
                dec->pending += (uint32_t)take;
                pos += take;
                continue;
            }
            if (verdict > 0) {
                if (!emit(dec, cand, (uint32_t)verdict, out))
                    break;
                drop_front(dec, (uint32_t)verdict);
            } else {
                /* Resume the search at the byte after this candidate's start marker. */
                count_rejection(dec, verdict);
                drop_front(dec, 1);
            }
            if (dec->pending > 0 && dec->pending <= pos) {
                /* The held candidate came whole from this input: go on reading it there
                 * (the data path finds its start marker again, at pos). */
                pos -= dec->pending;
                dec->pending = 0;
                dec->head = 0;
            }
            continue;
        }

        if (pos == len)
            break;
        const uint8_t *start = find_start(data + pos, len - pos);
        if (start == NULL) {
            dec->work.scanned_bytes += len - pos;
            dec->stats.garbage_bytes += len - pos;
            pos = len;
            break;
        }
        size_t at = (size_t)(start - data);
        dec->work.scanned_bytes += at - pos + 1;
        dec->stats.garbage_bytes += at - pos;
        pos = at;
        int32_t verdict = judge_candidate(data + pos, len - pos, dec->max_payload,
                                          dec->accept_zero_checksum, &need, dec, base + pos);
        if (verdict == 0) {
            /* Incomplete: the tail is shorter than one frame, so it fits the buffer. */
            dec->head = 0;
            dec->pending = (uint32_t)(len - pos);
            memcpy(dec->buf, data + pos, dec->pending);
            dec->work.copied_bytes += dec->pending;
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
