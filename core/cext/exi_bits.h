/* Bit-packed EXI streams: MSB-first bit reader/writer and the value encodings of EXI 1.0 §7.1
 * (Unsigned Integer, Integer, n-bit, Boolean, String with capacity-0 value tables, Binary).
 * Every function returns FV2G_EXI_OK or a negative FV2G_EXI_ERR_* and never reads or writes
 * outside the buffers it was given. */
#ifndef FV2G_EXI_BITS_H
#define FV2G_EXI_BITS_H

#include <stddef.h>
#include <stdint.h>

#include "exi_runtime.h"

typedef struct {
    const uint8_t *data;
    size_t nbits;
    size_t pos;
} fv2g_exi_reader;

typedef struct {
    uint8_t *data;
    size_t cap_bits;
    size_t pos;
} fv2g_exi_writer;

int fv2g_exi_read_bits(fv2g_exi_reader *r, unsigned n, uint32_t *out);
int fv2g_exi_read_uint(fv2g_exi_reader *r, uint64_t *out);
int fv2g_exi_write_bits(fv2g_exi_writer *w, unsigned n, uint32_t value);
int fv2g_exi_write_uint(fv2g_exi_writer *w, uint64_t value);

/* Decode one typed value of datatype `dt`; integers/booleans/enums go to *value, strings
 * (as UTF-8) and binaries are appended to arena[*arena_used..arena_cap) and *value becomes
 * (offset << 32) | length. */
int fv2g_exi_read_value(fv2g_exi_reader *r, const fv2g_exi_dt *dt, int64_t *value, uint8_t *arena,
                        uint32_t arena_cap, uint32_t *arena_used, int *big);
/* Encode one typed value; strings/binaries are taken from arena (UTF-8 / bytes). */
int fv2g_exi_write_value(fv2g_exi_writer *w, const fv2g_exi_dt *dt, int64_t value,
                         const uint8_t *arena, uint32_t arena_len, int big);

#endif
