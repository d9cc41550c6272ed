/* Bit streams and EXI value encodings (see exi_bits.h). */
#include "exi_bits.h"

#include <string.h>

int fv2g_exi_read_bits(fv2g_exi_reader *r, unsigned n, uint32_t *out) {
    if (n > 32) return FV2G_EXI_ERR_BAD_TAPE;
    if (r->nbits - r->pos < n) return FV2G_EXI_ERR_TRUNCATED;
    uint32_t v = 0;
    size_t pos = r->pos;
    while (n > 0) {
        unsigned off = (unsigned)(pos & 7u);
        unsigned take = 8u - off;
        if (take > n) take = n;
        uint32_t byte = r->data[pos >> 3];
        uint32_t bits = (byte >> (8u - off - take)) & ((1u << take) - 1u);
        v = (take == 32u) ? bits : ((v << take) | bits);
        pos += take;
        n -= take;
    }
    r->pos = pos;
    *out = v;
    return FV2G_EXI_OK;
}

int fv2g_exi_write_bits(fv2g_exi_writer *w, unsigned n, uint32_t value) {
    if (n > 32) return FV2G_EXI_ERR_BAD_TAPE;
    if (w->cap_bits - w->pos < n) return FV2G_EXI_ERR_OUT_FULL;
    size_t pos = w->pos;
    while (n > 0) {
        unsigned off = (unsigned)(pos & 7u);
        unsigned take = 8u - off;
        if (take > n) take = n;
        uint32_t bits = (uint32_t)((uint64_t)value >> (n - take)) & ((1u << take) - 1u);
        if (off == 0) w->data[pos >> 3] = 0;
        w->data[pos >> 3] |= (uint8_t)(bits << (8u - off - take));
        pos += take;
        n -= take;
    }
    w->pos = pos;
    return FV2G_EXI_OK;
}

int fv2g_exi_read_uint(fv2g_exi_reader *r, uint64_t *out) {
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint32_t octet;
        int rc = fv2g_exi_read_bits(r, 8, &octet);
        if (rc) return rc;
        uint64_t part = octet & 0x7Fu;
        if (i == 9 && (part > 1 || (octet & 0x80u))) return FV2G_EXI_ERR_TOO_LARGE;
        v |= part << (7u * i);
        if (!(octet & 0x80u)) {
            *out = v;
            return FV2G_EXI_OK;
        }
    }
    return FV2G_EXI_ERR_TOO_LARGE;
}

int fv2g_exi_write_uint(fv2g_exi_writer *w, uint64_t value) {
    do {
        uint32_t octet = (uint32_t)(value & 0x7Fu);
        value >>= 7;
        if (value) octet |= 0x80u;
        int rc = fv2g_exi_write_bits(w, 8, octet);
        if (rc) return rc;
    } while (value);
    return FV2G_EXI_OK;
}

static int check_int(const fv2g_exi_dt *dt, int64_t v) {
    if (dt->has_min && v < dt->min) return FV2G_EXI_ERR_RANGE;
    if (dt->has_max && v > dt->max) return FV2G_EXI_ERR_RANGE;
    return FV2G_EXI_OK;
}

static int check_len(const fv2g_exi_dt *dt, uint64_t n) {
    if (n < dt->minlen) return FV2G_EXI_ERR_LENGTH;
    if (dt->maxlen != FV2G_EXI_NO_LIMIT && n > dt->maxlen) return FV2G_EXI_ERR_LENGTH;
    return FV2G_EXI_OK;
}

static unsigned utf8_put(uint32_t cp, uint8_t *o) {
    if (cp < 0x80u) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800u) { o[0] = (uint8_t)(0xC0u | (cp >> 6)); o[1] = (uint8_t)(0x80u | (cp & 0x3Fu)); return 2; }
    if (cp < 0x10000u) {
        o[0] = (uint8_t)(0xE0u | (cp >> 12)); o[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
        o[2] = (uint8_t)(0x80u | (cp & 0x3Fu)); return 3;
    }
    o[0] = (uint8_t)(0xF0u | (cp >> 18)); o[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
    o[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu)); o[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
    return 4;
}

/* Next code point of s[*i..n); -1 on malformed UTF-8. */
static int64_t utf8_get(const uint8_t *s, uint32_t n, uint32_t *i) {
    uint32_t k = *i;
    uint32_t c = s[k];
    unsigned extra;
    uint32_t cp, min;
    if (c < 0x80u) { *i = k + 1; return c; }
    if ((c & 0xE0u) == 0xC0u) { extra = 1; cp = c & 0x1Fu; min = 0x80u; }
    else if ((c & 0xF0u) == 0xE0u) { extra = 2; cp = c & 0x0Fu; min = 0x800u; }
    else if ((c & 0xF8u) == 0xF0u) { extra = 3; cp = c & 0x07u; min = 0x10000u; }
    else return -1;
    if (n - k - 1 < extra) return -1;
    for (unsigned j = 1; j <= extra; j++) {
        uint32_t cc = s[k + j];
        if ((cc & 0xC0u) != 0x80u) return -1;
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu)) return -1;
    *i = k + 1 + extra;
    return cp;
}

static int arena_slice(int64_t value, uint32_t arena_len, uint32_t *off, uint32_t *len) {
    uint64_t v = (uint64_t)value;
    *off = (uint32_t)(v >> 32);
    *len = (uint32_t)(v & 0xFFFFFFFFu);
    if (*off > arena_len || *len > arena_len - *off) return FV2G_EXI_ERR_BAD_TAPE;
    return FV2G_EXI_OK;
}

/* An unbounded integer too large for int64: sign byte + the magnitude octets as read. */
static int read_big(fv2g_exi_reader *r, uint32_t sign, int64_t *value, uint8_t *arena,
                    uint32_t arena_cap, uint32_t *arena_used) {
    uint32_t start = *arena_used, n = 0, octet;
    int rc;
    if (arena_cap - start < FV2G_EXI_BIG_MAX_OCTETS + 1u) return FV2G_EXI_ERR_ARENA_FULL;
    arena[start] = (uint8_t)sign;
    do {
        if (n == FV2G_EXI_BIG_MAX_OCTETS) return FV2G_EXI_ERR_TOO_LARGE;
        if ((rc = fv2g_exi_read_bits(r, 8, &octet))) return rc;
        arena[start + 1u + n++] = (uint8_t)octet;
    } while (octet & 0x80u);
    *arena_used = start + 1u + n;
    *value = (int64_t)(((uint64_t)start << 32) | (uint64_t)(n + 1u));
    return FV2G_EXI_OK;
}

int fv2g_exi_read_value(fv2g_exi_reader *r, const fv2g_exi_dt *dt, int64_t *value, uint8_t *arena,
                        uint32_t arena_cap, uint32_t *arena_used, int *big) {
    uint32_t raw;
    uint64_t u;
    int rc;
    *big = 0;
    switch (dt->kind) {
    case FV2G_EXI_DT_BOOL:
        if ((rc = fv2g_exi_read_bits(r, 1, &raw))) return rc;
        *value = raw;
        return FV2G_EXI_OK;
    case FV2G_EXI_DT_NBIT:
        if ((rc = fv2g_exi_read_bits(r, dt->nbits, &raw))) return rc;
        *value = dt->min + (int64_t)raw;
        return check_int(dt, *value);
    case FV2G_EXI_DT_ENUM:
        if ((rc = fv2g_exi_read_bits(r, dt->nbits, &raw))) return rc;
        if (raw >= dt->n_enum) return FV2G_EXI_ERR_RANGE;
        *value = raw;
        return FV2G_EXI_OK;
    case FV2G_EXI_DT_UINT:
        if ((rc = fv2g_exi_read_uint(r, &u))) return rc;
        if (!dt->has_max && u > (uint64_t)INT64_MAX) {  /* unsignedLong above 2^63: kept as bits */
            *value = (int64_t)(u - (uint64_t)INT64_MAX - 1u) + INT64_MIN;
            return FV2G_EXI_OK;
        }
        if (u > (uint64_t)INT64_MAX) return FV2G_EXI_ERR_RANGE;
        *value = (int64_t)u;
        return check_int(dt, *value);
    case FV2G_EXI_DT_INT: {
        uint32_t sign;
        if ((rc = fv2g_exi_read_bits(r, 1, &sign))) return rc;
        size_t mark = r->pos;
        rc = fv2g_exi_read_uint(r, &u);
        if ((rc == FV2G_EXI_ERR_TOO_LARGE || (rc == 0 && u > (uint64_t)INT64_MAX)) && !dt->has_min &&
            !dt->has_max) {
            r->pos = mark;
            *big = 1;
            return read_big(r, sign, value, arena, arena_cap, arena_used);
        }
        if (rc) return rc;
        if (u > (uint64_t)INT64_MAX) return FV2G_EXI_ERR_TOO_LARGE;
        *value = sign ? -(int64_t)u - 1 : (int64_t)u;
        return check_int(dt, *value);
    }
    case FV2G_EXI_DT_STRING: {
        if ((rc = fv2g_exi_read_uint(r, &u))) return rc;
        if (u < 2) return FV2G_EXI_ERR_STRING_HIT;
        u -= 2;
        if ((rc = check_len(dt, u))) return rc;
        if (u > (r->nbits - r->pos) / 8u) return FV2G_EXI_ERR_TRUNCATED;  /* >= 1 octet per char */
        uint32_t start = *arena_used, used = start;
        for (uint64_t i = 0; i < u; i++) {
            uint64_t cp;
            if ((rc = fv2g_exi_read_uint(r, &cp))) return rc;
            if (cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu)) return FV2G_EXI_ERR_CHAR;
            if (arena_cap - used < 4u) return FV2G_EXI_ERR_ARENA_FULL;
            used += utf8_put((uint32_t)cp, arena + used);
        }
        *arena_used = used;
        *value = (int64_t)(((uint64_t)start << 32) | (uint64_t)(used - start));
        return FV2G_EXI_OK;
    }
    case FV2G_EXI_DT_BINARY: {
        if ((rc = fv2g_exi_read_uint(r, &u))) return rc;
        if ((rc = check_len(dt, u))) return rc;
        if (u > (r->nbits - r->pos) / 8u) return FV2G_EXI_ERR_TRUNCATED;
        if (u > arena_cap - *arena_used) return FV2G_EXI_ERR_ARENA_FULL;
        uint32_t start = *arena_used;
        if ((r->pos & 7u) == 0) {
            memcpy(arena + start, r->data + (r->pos >> 3), (size_t)u);
            r->pos += (size_t)u * 8u;
        } else {
            for (uint64_t i = 0; i < u; i++) {
                if ((rc = fv2g_exi_read_bits(r, 8, &raw))) return rc;
                arena[start + i] = (uint8_t)raw;
            }
        }
        *arena_used = start + (uint32_t)u;
        *value = (int64_t)(((uint64_t)start << 32) | u);
        return FV2G_EXI_OK;
    }
    default:
        return FV2G_EXI_ERR_UNSUPPORTED;
    }
}

int fv2g_exi_write_value(fv2g_exi_writer *w, const fv2g_exi_dt *dt, int64_t value,
                         const uint8_t *arena, uint32_t arena_len, int big) {
    int rc;
    uint32_t off, len;
    if (big) {  /* see FV2G_EXI_BIG: only for unbounded xs:integer */
        if (dt->kind != FV2G_EXI_DT_INT || dt->has_min || dt->has_max) return FV2G_EXI_ERR_BAD_TAPE;
        if ((rc = arena_slice(value, arena_len, &off, &len))) return rc;
        if (len < 2 || len > FV2G_EXI_BIG_MAX_OCTETS + 1u || arena[off] > 1) return FV2G_EXI_ERR_BAD_TAPE;
        for (uint32_t i = 1; i < len; i++)  /* continuation bit on all octets but the last */
            if (((arena[off + i] & 0x80u) != 0) != (i + 1 < len)) return FV2G_EXI_ERR_BAD_TAPE;
        if ((rc = fv2g_exi_write_bits(w, 1, arena[off]))) return rc;
        for (uint32_t i = 1; i < len; i++)
            if ((rc = fv2g_exi_write_bits(w, 8, arena[off + i]))) return rc;
        return FV2G_EXI_OK;
    }
    switch (dt->kind) {
    case FV2G_EXI_DT_BOOL:
        if (value != 0 && value != 1) return FV2G_EXI_ERR_RANGE;
        return fv2g_exi_write_bits(w, 1, (uint32_t)value);
    case FV2G_EXI_DT_NBIT:
        if ((rc = check_int(dt, value))) return rc;
        return fv2g_exi_write_bits(w, dt->nbits, (uint32_t)(value - dt->min));
    case FV2G_EXI_DT_ENUM:
        if (value < 0 || (uint64_t)value >= dt->n_enum) return FV2G_EXI_ERR_RANGE;
        return fv2g_exi_write_bits(w, dt->nbits, (uint32_t)value);
    case FV2G_EXI_DT_UINT:
        if (!dt->has_max && value < 0)  /* unsignedLong above 2^63 (see read) */
            return fv2g_exi_write_uint(w, (uint64_t)(value - INT64_MIN) + (uint64_t)INT64_MAX + 1u);
        if (value < 0 || (rc = check_int(dt, value))) return FV2G_EXI_ERR_RANGE;
        return fv2g_exi_write_uint(w, (uint64_t)value);
    case FV2G_EXI_DT_INT:
        if ((rc = check_int(dt, value))) return rc;
        if (value < 0) {
            if ((rc = fv2g_exi_write_bits(w, 1, 1))) return rc;
            return fv2g_exi_write_uint(w, (uint64_t)(-(value + 1)));
        }
        if ((rc = fv2g_exi_write_bits(w, 1, 0))) return rc;
        return fv2g_exi_write_uint(w, (uint64_t)value);
    case FV2G_EXI_DT_STRING: {
        if ((rc = arena_slice(value, arena_len, &off, &len))) return rc;
        uint32_t n = 0;
        for (uint32_t i = off; i < off + len; n++)
            if (utf8_get(arena, off + len, &i) < 0) return FV2G_EXI_ERR_CHAR;
        if ((rc = check_len(dt, n))) return rc;
        if ((rc = fv2g_exi_write_uint(w, (uint64_t)n + 2u))) return rc;
        for (uint32_t i = off; i < off + len;) {
            int64_t cp = utf8_get(arena, off + len, &i);
            if ((rc = fv2g_exi_write_uint(w, (uint64_t)cp))) return rc;
        }
        return FV2G_EXI_OK;
    }
    case FV2G_EXI_DT_BINARY:
        if ((rc = arena_slice(value, arena_len, &off, &len))) return rc;
        if ((rc = check_len(dt, len))) return rc;
        if ((rc = fv2g_exi_write_uint(w, len))) return rc;
        for (uint32_t i = 0; i < len; i++)
            if ((rc = fv2g_exi_write_bits(w, 8, arena[off + i]))) return rc;
        return FV2G_EXI_OK;
    default:
        return FV2G_EXI_ERR_UNSUPPORTED;
    }
}
