/* EXI grammar interpreter: decode (bytes -> event tape) and encode (event tape -> bytes) over
 * the generated grammar tables (see exi_runtime.h). */
#include "exi_runtime.h"

#include "exi_bits.h"
#include "exi_tables.h"

#define DOC_END 0xFFFFFFFFu

uint32_t fv2g_exi_grammar_count(void) { return FV2G_EXI_N_GRAMMARS; }

const char *fv2g_exi_grammar_name(uint32_t protocol) {
    return protocol < FV2G_EXI_N_GRAMMARS ? fv2g_exi_grammars[protocol]->name : "";
}

const fv2g_exi_grammar *fv2g_exi_grammar_get(uint32_t protocol) {
    return protocol < FV2G_EXI_N_GRAMMARS ? fv2g_exi_grammars[protocol] : 0;
}

static void res_init(fv2g_exi_result *res) {
    res->status = FV2G_EXI_OK;
    res->bit_offset = 0;
    res->event_index = 0;
    res->state = 0;
    res->n_words = 0;
    res->arena_used = 0;
    res->out_len = 0;
    res->root = -1;
    res->qname = -1;
}

static int32_t fail(fv2g_exi_result *res, int32_t status, size_t bit, uint32_t ev, uint32_t state,
                    int32_t qname) {
    res->status = status;
    res->bit_offset = (uint32_t)bit;
    res->event_index = ev;
    res->state = state;
    res->qname = qname;
    return status;
}

/* Append one event (1 word for SE/EE, 3 for AT/CH); *n counts words, *ev events. */
static int emit(int64_t *tape, uint32_t cap, uint32_t *n, int64_t w0, int64_t w1, int64_t w2) {
    int64_t kind = w0 >> 24;
    uint32_t words = (kind == FV2G_EXI_EV_AT || kind == FV2G_EXI_EV_CH) ? 3u : 1u;
    if (cap - *n < words || *n > cap) return FV2G_EXI_ERR_TAPE_FULL;
    tape[*n] = w0;
    if (words == 3) {
        tape[*n + 1] = w1;
        tape[*n + 2] = w2;
    }
    *n += words;
    return FV2G_EXI_OK;
}

#define EVW(kind, q) (((int64_t)(kind) << 24) | (int64_t)(q))

int32_t fv2g_exi_decode(uint32_t protocol, const uint8_t *data, size_t len, int64_t *tape,
                        uint32_t tape_cap, uint8_t *arena, uint32_t arena_cap,
                        uint32_t flags, fv2g_exi_result *res) {
    res_init(res);
    if (protocol >= FV2G_EXI_N_GRAMMARS) return fail(res, FV2G_EXI_ERR_PROTOCOL, 0, 0, 0, -1);
    const fv2g_exi_grammar *g = fv2g_exi_grammars[protocol];
    if (len == 0) return fail(res, FV2G_EXI_ERR_TRUNCATED, 0, 0, 0, -1);
    if (data[0] != 0x80) return fail(res, FV2G_EXI_ERR_HEADER, 0, 0, 0, -1);
    if (len > (SIZE_MAX >> 4)) return fail(res, FV2G_EXI_ERR_TRAILING, 0, 0, 0, -1);
    fv2g_exi_reader r = {data, len * 8u, 8};
    uint32_t code, arena_used = 0;
    uint32_t *const n = &res->n_words;  /* also reports the partial tape on failure */
    int rc;
    uint32_t ret[FV2G_EXI_MAX_DEPTH + 1];
    int32_t qn[FV2G_EXI_MAX_DEPTH + 1];
    unsigned depth = 0;
    ret[0] = DOC_END;
    qn[0] = -1;

    const int frag = (flags & FV2G_EXI_FRAGMENT) != 0;
    const uint16_t *rq = frag ? g->frag_qname : g->root_qname;
    const uint32_t *rs = frag ? g->frag_state : g->root_state;
    uint32_t nr = frag ? g->n_frag : g->n_roots;
    if ((rc = fv2g_exi_read_bits(&r, frag ? g->frag_bits : g->root_bits, &code)))
        return fail(res, rc, r.pos, 0, 0, -1);
    if (code >= nr) return fail(res, code <= nr + 1u ? FV2G_EXI_ERR_UNSUPPORTED : FV2G_EXI_ERR_EVENT_CODE, r.pos, 0, 0, -1);
    res->root = rq[code];
    if (rs[code] == FV2G_EXI_AMBIGUOUS) return fail(res, FV2G_EXI_ERR_UNSUPPORTED, r.pos, 0, 0, res->root);
    if ((rc = emit(tape, tape_cap, n, EVW(FV2G_EXI_EV_SE, rq[code]), 0, 0)))
        return fail(res, rc, r.pos, *n, 0, res->root);
    uint32_t cur = rs[code];
    depth = 1;
    ret[1] = DOC_END;
    qn[1] = rq[code];

    for (;;) {
        if (cur >= g->n_states) return fail(res, FV2G_EXI_ERR_BAD_TAPE, r.pos, *n, cur, qn[depth]);
        const fv2g_exi_state *st = &g->states[cur];
        size_t at = r.pos;
        if ((rc = fv2g_exi_read_bits(&r, st->bits, &code))) return fail(res, rc, at, *n, cur, qn[depth]);
        const fv2g_exi_prod *p = 0;
        int is_ee = 0;
        if (code < st->count) {
            p = &g->prods[st->first + code];
            is_ee = p->kind == FV2G_EXI_P_EE;
        } else if (code == st->count) {  /* escape: only a second-level EE is understood */
            uint32_t code2;
            if ((rc = fv2g_exi_read_bits(&r, st->bits2, &code2))) return fail(res, rc, at, *n, cur, qn[depth]);
            if (st->has_ee || code2 != 0) return fail(res, FV2G_EXI_ERR_UNSUPPORTED, at, *n, cur, qn[depth]);
            is_ee = 1;
        } else {
            return fail(res, FV2G_EXI_ERR_EVENT_CODE, at, *n, cur, qn[depth]);
        }
        if (is_ee) {
            if ((rc = emit(tape, tape_cap, n, EVW(FV2G_EXI_EV_EE, qn[depth]), 0, 0)))
                return fail(res, rc, at, *n, cur, qn[depth]);
            uint32_t back = ret[depth];
            depth--;
            if (back == DOC_END) break;
            cur = back;
            continue;
        }
        int64_t value = 0;
        switch (p->kind) {
        case FV2G_EXI_P_SE:
            if (depth >= FV2G_EXI_MAX_DEPTH) return fail(res, FV2G_EXI_ERR_DEPTH, at, *n, cur, qn[depth]);
            if ((rc = emit(tape, tape_cap, n, EVW(FV2G_EXI_EV_SE, p->qname), 0, 0)))
                return fail(res, rc, at, *n, cur, qn[depth]);
            depth++;
            ret[depth] = p->next;
            qn[depth] = p->qname;
            cur = p->arg;
            break;
        case FV2G_EXI_P_AT:
        case FV2G_EXI_P_CH:
            if (p->arg >= g->n_dts) return fail(res, FV2G_EXI_ERR_BAD_TAPE, at, *n, cur, qn[depth]);
            int big = 0;
            if ((rc = fv2g_exi_read_value(&r, &g->dts[p->arg], &value, arena, arena_cap, &arena_used, &big)))
                return fail(res, rc, at, *n, cur, qn[depth]);
            if ((rc = emit(tape, tape_cap, n,
                           EVW(p->kind == FV2G_EXI_P_AT ? FV2G_EXI_EV_AT : FV2G_EXI_EV_CH,
                               p->kind == FV2G_EXI_P_AT ? p->qname : (uint16_t)qn[depth]),
                           (int64_t)p->arg | (big ? FV2G_EXI_BIG : 0), value)))
                return fail(res, rc, at, *n, cur, qn[depth]);
            cur = p->next;
            break;
        default:  /* SE(*) and CH[untyped]: content the V2G profile cannot carry (sheet §1.5) */
            return fail(res, FV2G_EXI_ERR_UNSUPPORTED, at, *n, cur, qn[depth]);
        }
    }
    if (frag) {  /* one element per fragment, then the explicit ED */
        size_t at = r.pos;
        if ((rc = fv2g_exi_read_bits(&r, g->frag_bits, &code))) return fail(res, rc, at, *n, cur, -1);
        if (code != g->n_frag + 1u) return fail(res, FV2G_EXI_ERR_UNSUPPORTED, at, *n, cur, -1);
    }
    /* Padding to the byte boundary must be zero and nothing may follow it. */
    size_t end = (r.pos + 7u) & ~(size_t)7u;
    if (end < r.nbits) return fail(res, FV2G_EXI_ERR_TRAILING, r.pos, *n, cur, -1);
    if (r.pos < end) {
        uint32_t pad;
        unsigned k = (unsigned)(end - r.pos);
        if ((rc = fv2g_exi_read_bits(&r, k, &pad))) return fail(res, rc, r.pos, *n, cur, -1);
        if (pad) return fail(res, FV2G_EXI_ERR_TRAILING, end - k, *n, cur, -1);
    }
    res->arena_used = arena_used;
    res->bit_offset = (uint32_t)r.pos;
    return FV2G_EXI_OK;
}

int32_t fv2g_exi_encode(uint32_t protocol, const int64_t *tape, uint32_t n_words,
                        const uint8_t *arena, uint32_t arena_len, uint8_t *out, uint32_t out_cap,
                        uint32_t flags, fv2g_exi_result *res) {
    res_init(res);
    if (protocol >= FV2G_EXI_N_GRAMMARS) return fail(res, FV2G_EXI_ERR_PROTOCOL, 0, 0, 0, -1);
    const fv2g_exi_grammar *g = fv2g_exi_grammars[protocol];
    if (out_cap < 1) return fail(res, FV2G_EXI_ERR_OUT_FULL, 0, 0, 0, -1);
    fv2g_exi_writer w = {out, (size_t)out_cap * 8u, 0};
    int rc;
    uint32_t ret[FV2G_EXI_MAX_DEPTH + 1];
    int32_t qn[FV2G_EXI_MAX_DEPTH + 1];
    unsigned depth = 0;
    ret[0] = DOC_END;
    qn[0] = -1;
    fv2g_exi_write_bits(&w, 8, 0x80);
    if (n_words == 0) return fail(res, FV2G_EXI_ERR_INCOMPLETE, w.pos, 0, 0, -1);
    int64_t k0 = tape[0];
    if ((k0 >> 24) != FV2G_EXI_EV_SE) return fail(res, FV2G_EXI_ERR_BAD_TAPE, w.pos, 0, 0, -1);
    const int frag = (flags & FV2G_EXI_FRAGMENT) != 0;
    const uint16_t *rq = frag ? g->frag_qname : g->root_qname;
    const uint32_t *rs = frag ? g->frag_state : g->root_state;
    uint32_t nr = frag ? g->n_frag : g->n_roots;
    uint32_t root = (uint32_t)(k0 & 0xFFFFFF), code;
    for (code = 0; code < nr; code++)
        if (rq[code] == root) break;
    if (code == nr) return fail(res, FV2G_EXI_ERR_NOT_ROOT, w.pos, 0, 0, (int32_t)root);
    res->root = (int32_t)root;
    if (rs[code] == FV2G_EXI_AMBIGUOUS) return fail(res, FV2G_EXI_ERR_UNSUPPORTED, w.pos, 0, 0, (int32_t)root);
    if ((rc = fv2g_exi_write_bits(&w, frag ? g->frag_bits : g->root_bits, code)))
        return fail(res, rc, w.pos, 0, 0, (int32_t)root);
    uint32_t cur = rs[code];
    depth = 1;
    ret[1] = DOC_END;
    qn[1] = (int32_t)root;
    uint32_t i, ev = 0, step = 1;
    for (i = 1; i < n_words; i += step, ev++) {
        const int64_t *e = tape + i;
        int64_t kind = e[0] >> 24;
        step = (kind == FV2G_EXI_EV_AT || kind == FV2G_EXI_EV_CH) ? 3u : 1u;
        if (n_words - i < step) return fail(res, FV2G_EXI_ERR_BAD_TAPE, w.pos, ev + 1, cur, qn[depth]);
        uint32_t q = (uint32_t)(e[0] & 0xFFFFFF);
        if (cur >= g->n_states) return fail(res, FV2G_EXI_ERR_BAD_TAPE, w.pos, ev + 1, cur, qn[depth]);
        const fv2g_exi_state *st = &g->states[cur];
        const fv2g_exi_prod *ps = g->prods + st->first;
        uint32_t c;
        for (c = 0; c < st->count; c++) {
            const fv2g_exi_prod *p = ps + c;
            if ((kind == FV2G_EXI_EV_SE && p->kind == FV2G_EXI_P_SE && p->qname == q) ||
                (kind == FV2G_EXI_EV_AT && p->kind == FV2G_EXI_P_AT && p->qname == q) ||
                (kind == FV2G_EXI_EV_CH && p->kind == FV2G_EXI_P_CH) ||
                (kind == FV2G_EXI_EV_EE && p->kind == FV2G_EXI_P_EE))
                break;
        }
        if (c == st->count && kind == FV2G_EXI_EV_EE && !st->has_ee &&
            (flags & FV2G_EXI_ENC_ALLOW_DEVIATIONS)) {
            size_t at2 = w.pos;
            if ((rc = fv2g_exi_write_bits(&w, st->bits, st->count)) ||
                (rc = fv2g_exi_write_bits(&w, st->bits2, 0)))
                return fail(res, rc, at2, ev + 1, cur, qn[depth]);
            uint32_t back = ret[depth];
            depth--;
            if (back == DOC_END) break;
            cur = back;
            continue;
        }
        if (c == st->count) {
            int32_t status = (kind < FV2G_EXI_EV_SE || kind > FV2G_EXI_EV_CH) ? FV2G_EXI_ERR_BAD_TAPE
                             : FV2G_EXI_ERR_NOT_ALLOWED;
            return fail(res, status, w.pos, ev + 1, cur, qn[depth]);
        }
        const fv2g_exi_prod *p = ps + c;
        size_t at = w.pos;
        if ((rc = fv2g_exi_write_bits(&w, st->bits, c))) return fail(res, rc, at, ev + 1, cur, qn[depth]);
        if (p->kind == FV2G_EXI_P_EE) {
            uint32_t back = ret[depth];
            depth--;
            if (back == DOC_END) break;
            cur = back;
        } else if (p->kind == FV2G_EXI_P_SE) {
            if (depth >= FV2G_EXI_MAX_DEPTH) return fail(res, FV2G_EXI_ERR_DEPTH, at, ev + 1, cur, qn[depth]);
            depth++;
            ret[depth] = p->next;
            qn[depth] = (int32_t)p->qname;
            cur = p->arg;
        } else {
            int big = (e[1] & FV2G_EXI_BIG) != 0;
            if (p->arg >= g->n_dts || (e[1] & ~(int64_t)FV2G_EXI_BIG) != (int64_t)p->arg)
                return fail(res, FV2G_EXI_ERR_BAD_TAPE, at, ev + 1, cur, qn[depth]);
            if ((rc = fv2g_exi_write_value(&w, &g->dts[p->arg], e[2], arena, arena_len, big)))
                return fail(res, rc, at, ev + 1, cur, qn[depth]);
            cur = p->next;
        }
    }
    if (i >= n_words) return fail(res, FV2G_EXI_ERR_INCOMPLETE, w.pos, ev + 1, cur, qn[depth > 0 ? depth : 0]);
    if (i + 1 != n_words) return fail(res, FV2G_EXI_ERR_BAD_TAPE, w.pos, ev + 2, cur, -1);
    if (frag && (rc = fv2g_exi_write_bits(&w, g->frag_bits, g->n_frag + 1u)))
        return fail(res, rc, w.pos, ev, cur, -1);
    size_t bits = w.pos;
    if (bits & 7u) {
        if ((rc = fv2g_exi_write_bits(&w, (unsigned)(8u - (bits & 7u)), 0))) return fail(res, rc, bits, ev, cur, -1);
    }
    res->out_len = (uint32_t)(w.pos / 8u);
    res->bit_offset = (uint32_t)bits;
    return (int32_t)res->out_len;
}
