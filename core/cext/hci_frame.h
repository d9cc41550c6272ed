/* WHITE beet HCI framing protocol: checksum, encoder, one-frame parser and streaming decoder.
 * Facts: shared/spec/whitebeet-hci.md section 2 (2.1 layout, 2.2 checksum, 2.7 size limit,
 * 2.8 resynchronisation).
 *
 * Frame: C0 | module | sub | request | u16 BE payload length N | N payload bytes | checksum | C1.
 * There is no byte stuffing; the decoder uses the length field and never scans for 0xC1.
 */
#ifndef FV2G_HCI_FRAME_H
#define FV2G_HCI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "fv2g_status.h"

#define FV2G_FRAME_START 0xC0
#define FV2G_FRAME_END 0xC1
#define FV2G_FRAME_HEADER_BYTES 6
#define FV2G_FRAME_OVERHEAD_BYTES 8
#define FV2G_FRAME_MAX_TOTAL_BYTES 4096           /* section 2.7: module rejects bigger frames */
#define FV2G_FRAME_DEFAULT_MAX_PAYLOAD 4088       /* 4096 - 8 */
#define FV2G_FRAME_WIRE_MAX_PAYLOAD 65535         /* u16 length field */
#define FV2G_CHECKSUM_NONE 0x00                   /* "checksum not computed" */

/* Checksum of a complete frame (start to end marker, `len` >= 8); the checksum byte at
 * len - 2 is treated as 0x00 whatever it holds. Never returns 0x00 (section 2.2 step 5). */
uint8_t fv2g_frame_checksum(const uint8_t *frame, size_t len);

/* Writes one frame into out; returns its total length or a negative status. */
int32_t fv2g_frame_encode(uint8_t module_id, uint8_t sub_id, uint8_t request_id,
                          const uint8_t *payload, size_t payload_len, int with_checksum,
                          uint32_t max_payload, uint8_t *out, size_t out_cap);

typedef struct {
    uint8_t module_id;
    uint8_t sub_id;
    uint8_t request_id;
    uint8_t checksum;          /* as received; 0x00 = not computed by the sender */
    uint32_t payload_offset;   /* into the parsed buffer */
    uint32_t payload_length;
} fv2g_frame_view;

/* Parses exactly one frame occupying all `len` bytes; returns FV2G_OK or a negative status. */
int32_t fv2g_frame_parse(const uint8_t *data, size_t len, uint32_t max_payload,
                         int accept_zero_checksum, fv2g_frame_view *out);

/* ---- streaming decoder ---- */

typedef struct {
    uint64_t bytes_in;         /* consumed bytes */
    uint64_t frames;           /* frames emitted */
    uint64_t frame_bytes;      /* bytes of emitted frames */
    uint64_t garbage_bytes;    /* bytes discarded (outside frames, or rejected start markers) */
    uint64_t bad_checksum;     /* candidates rejected for their checksum */
    uint64_t too_long;         /* candidates whose length field exceeds max_payload */
    uint64_t bad_end_marker;   /* candidates without 0xC1 where the length says it must be */
    uint64_t unchecked;        /* frames accepted with checksum 0x00 */
} fv2g_decoder_stats;
/* Invariant: bytes_in == frame_bytes + garbage_bytes + pending bytes. */

/* Work done so far, for tests that check the decoder stays linear in its input. */
typedef struct {
    uint64_t checks;           /* candidate verdicts asked for (complete or not) */
    uint64_t scanned_bytes;    /* bytes searched for a start marker */
    uint64_t summed_bytes;     /* bytes read to compute checksums */
    uint64_t copied_bytes;     /* bytes copied or moved inside the candidate buffer */
} fv2g_decoder_work;

/* Caller-owned output arrays for one decode call (struct of arrays, `capacity` entries each). */
typedef struct {
    uint32_t capacity;
    uint32_t count;            /* frames written by the last call */
    uint32_t full;             /* 1: the call stopped early because the arrays or arena are full */
    uint32_t payload_capacity; /* bytes in `payload`; must be >= the decoder's max_payload */
    uint32_t payload_used;
    uint8_t *module_id;
    uint8_t *sub_id;
    uint8_t *request_id;
    uint8_t *checksum;
    uint32_t *payload_offset;  /* into `payload` */
    uint32_t *payload_length;
    uint8_t *payload;          /* payloads are copied here back to back */
} fv2g_frame_batch;

typedef struct fv2g_decoder fv2g_decoder;

/* The only allocation: the decoder, its running-sum ring (4-byte entries, as many as the power
 * of two above max_payload + 8) and its candidate buffer (2 * (max_payload + 8) bytes).
 * Decoding stays linear in the input however the stream is cut and whatever it holds (see
 * hci_frame.c and fv2g_decoder_work). */
fv2g_decoder *fv2g_decoder_new(uint32_t max_payload, int accept_zero_checksum);
void fv2g_decoder_free(fv2g_decoder *dec);
void fv2g_decoder_reset(fv2g_decoder *dec);
uint32_t fv2g_decoder_pending(const fv2g_decoder *dec);
void fv2g_decoder_get_stats(const fv2g_decoder *dec, fv2g_decoder_stats *out);
void fv2g_decoder_get_work(const fv2g_decoder *dec, fv2g_decoder_work *out);

/* Feeds len bytes (len may be 0). Decodes as many frames as fit into `out` and returns the
 * number of input bytes consumed. If out->full is 0 all input was consumed; otherwise call
 * again with the rest (a complete frame may also wait inside the decoder). */
size_t fv2g_decoder_feed(fv2g_decoder *dec, const uint8_t *data, size_t len,
                         fv2g_frame_batch *out);

#endif
