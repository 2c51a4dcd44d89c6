/*
 * fuzz_ws.c: the WebSocket frame decoder on arbitrary bytes, fed in
 * pieces, in both roles, unmasking in place or into a small buffer. What
 * it decoded is re-encoded (one frame per event) and decoded again: the
 * two event logs must be identical, and every error must map to 1002,
 * 1007 or 1009.
 *
 * The first byte picks the role (bit 0), out-buffer mode (bit 1), the
 * max message size (bits 2-3) and the feed piece size (bits 4-7).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A coalesced event log: type, opcode, close code, 4-byte length, bytes;
 * consecutive DATA events merge into one entry. */
struct elog {
    uint8_t *p;
    size_t n, cap;
    size_t last_data; /* offset of the open DATA entry's length, or SIZE_MAX */
};

static void elog_add(struct elog *l, const struct msrp_ws_event *ev)
{
    if (ev->type == MSRP_WS_EV_DATA && l->last_data != SIZE_MAX) {
        uint32_t k;
        memcpy(&k, l->p + l->last_data, 4);
        k += (uint32_t)ev->n;
        memcpy(l->p + l->last_data, &k, 4);
    } else {
        if (l->n + 8 > l->cap)
            abort();
        l->p[l->n++] = (uint8_t)ev->type;
        l->p[l->n++] = (uint8_t)ev->opcode;
        l->p[l->n++] = (uint8_t)(ev->close_code >> 8);
        l->p[l->n++] = (uint8_t)ev->close_code;
        uint32_t k = (uint32_t)ev->n;
        l->last_data = ev->type == MSRP_WS_EV_DATA ? l->n : SIZE_MAX;
        memcpy(l->p + l->n, &k, 4);
        l->n += 4;
    }
    if (l->n + ev->n > l->cap)
        abort();
    if (ev->n)
        memcpy(l->p + l->n, ev->data, ev->n);
    l->n += ev->n;
}

/* Re-encodes one event as one frame into out (cap checked by caller). */
static size_t reencode(uint8_t *out, const struct msrp_ws_event *ev, const uint8_t *mask)
{
    long n;
    switch (ev->type) {
    case MSRP_WS_EV_MSG_START:
        n = msrp_ws_encode_frame(out, 16, ev->opcode, false, NULL, 0, mask);
        break;
    case MSRP_WS_EV_DATA:
        n = msrp_ws_encode_frame(out, ev->n + 16, MSRP_WS_OP_CONT, false, ev->data, ev->n, mask);
        break;
    case MSRP_WS_EV_MSG_END:
        n = msrp_ws_encode_frame(out, 16, MSRP_WS_OP_CONT, true, NULL, 0, mask);
        break;
    default:
        n = msrp_ws_encode_frame(out, ev->n + 16, ev->opcode, true, ev->data, ev->n, mask);
        break;
    }
    if (n < 0)
        abort();
    return (size_t)n;
}

/*
 * Decodes in[0..len) in pieces of `piece` bytes; logs events to l and,
 * when re != NULL, re-encodes them there. Returns the final error or 0.
 */
static int decode_all(enum msrp_ws_role role, uint64_t max, bool use_out, uint8_t *in,
                      size_t len, size_t piece, struct elog *l, uint8_t *re, size_t *re_n,
                      const uint8_t *mask)
{
    static struct msrp_ws_decoder d;
    static uint8_t out[7];
    msrp_ws_decoder_init(&d, role, max);
    if (use_out)
        msrp_ws_decoder_set_out(&d, out, sizeof(out));
    size_t from = 0;
    while (from < len) {
        size_t to = len - from > piece ? from + piece : len;
        for (;;) {
            struct msrp_ws_event ev;
            size_t used;
            int rc = msrp_ws_decode(&d, in + from, to - from, &used, &ev);
            if (used > to - from)
                abort();
            from += used;
            if (rc < 0) {
                int c = msrp_ws_err_close_code(rc);
                if (c != 1002 && c != 1007 && c != 1009)
                    abort();
                return rc;
            }
            if (rc == 0) {
                if (from != to)
                    abort();
                break;
            }
            if (ev.type == MSRP_WS_EV_DATA && (ev.n == 0 || (use_out && ev.n > sizeof(out))))
                abort();
            if (ev.n > (ev.type == MSRP_WS_EV_DATA ? len : MSRP_WS_MAX_CONTROL))
                abort();
            elog_add(l, &ev);
            if (re)
                *re_n += reencode(re + *re_n, &ev, mask);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const uint64_t maxes[4] = { 0, 16, 4096, UINT64_MAX >> 1 };
    enum msrp_ws_role role = data[0] & 1 ? MSRP_WS_CLIENT : MSRP_WS_SERVER;
    bool use_out = data[0] & 2;
    uint64_t max = maxes[(data[0] >> 2) & 3];
    size_t piece = (size_t)(data[0] >> 4) * 37 + 1;
    size_t n = size - 1;
    const uint8_t key[4] = { 0x5a, data[0], 0xc3, 0x01 };
    const uint8_t *mask = role == MSRP_WS_SERVER ? key : NULL;

    uint8_t *in = malloc(n + 1);
    memcpy(in, data + 1, n);
    /* Each event costs >= 1 input byte except START/END pairs around an
     * empty frame (2 bytes, 2 events): 16 bytes of framing per input byte
     * plus the payload bounds both buffers. */
    size_t cap = 32 * n + 64;
    struct elog a = { malloc(cap), 0, cap, SIZE_MAX };
    struct elog b = { malloc(cap), 0, cap, SIZE_MAX };
    uint8_t *re = malloc(cap);
    size_t re_n = 0;
    (void)decode_all(role, max, use_out, in, n, piece, &a, re, &re_n, mask);
    /* What we decoded, once re-encoded, decodes to the same events with
     * no error, however it is fed. */
    if (decode_all(role, max, !use_out, re, re_n, piece + 3, &b, NULL, NULL, NULL) != 0)
        abort();
    if (a.n != b.n || memcmp(a.p, b.p, a.n) != 0)
        abort();
    free(re);
    free(b.p);
    free(a.p);
    free(in);
    return 0;
}
