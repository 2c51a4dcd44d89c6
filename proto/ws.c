/*
 * ws.c: RFC 6455 frame decoder and encoder (see ws.h for the contract).
 *
 * The decoder is a small state machine: collect a frame header (2..14
 * bytes, possibly across calls), validate it completely before touching
 * the payload, then either stream the payload out as DATA pieces (data
 * frames) or collect it into the 125-byte control buffer (control frames).
 * Memory is bounded by the struct; no input is ever buffered beyond a
 * header or a control payload, so a hostile length costs nothing until
 * its bytes actually arrive (and is refused first if above max_message).
 */
#include "proto/ws.h"

#include <string.h>

enum { ST_HEADER, ST_PAYLOAD, ST_CONTROL, ST_FAILED };

/* ---- errors ----------------------------------------------------------- */

int msrp_ws_err_close_code(int err)
{
    switch (err) {
#define MSRP_WS_ERR_CLOSE(code, value, close, name) \
    case value:                                     \
        return close;
        MSRP_WS_ERRORS(MSRP_WS_ERR_CLOSE)
#undef MSRP_WS_ERR_CLOSE
    default:
        return 0;
    }
}

const char *msrp_ws_strerror(int err)
{
    if (err == 0)
        return "ok";
    switch (err) {
#define MSRP_WS_ERR_NAME(code, value, close, name) \
    case value:                                    \
        return name;
        MSRP_WS_ERRORS(MSRP_WS_ERR_NAME)
#undef MSRP_WS_ERR_NAME
    default:
        return "unknown";
    }
}

/* ---- UTF-8 ------------------------------------------------------------ */

/*
 * RFC 3629 table 3.9: the lead byte fixes how many continuation bytes
 * follow and narrows the range of the first one, which is what excludes
 * overlong forms (E0, F0), surrogates (ED) and code points above U+10FFFF
 * (F4). Later continuation bytes are always 80..BF.
 */
static bool utf8_lead(struct msrp_ws_utf8 *u, uint8_t c)
{
    if (c >= 0xC2 && c <= 0xDF)
        *u = (struct msrp_ws_utf8){ 1, 0x80, 0xBF };
    else if (c == 0xE0)
        *u = (struct msrp_ws_utf8){ 2, 0xA0, 0xBF };
    else if (c == 0xED)
        *u = (struct msrp_ws_utf8){ 2, 0x80, 0x9F };
    else if (c >= 0xE1 && c <= 0xEF)
        *u = (struct msrp_ws_utf8){ 2, 0x80, 0xBF };
    else if (c == 0xF0)
        *u = (struct msrp_ws_utf8){ 3, 0x90, 0xBF };
    else if (c >= 0xF1 && c <= 0xF3)
        *u = (struct msrp_ws_utf8){ 3, 0x80, 0xBF };
    else if (c == 0xF4)
        *u = (struct msrp_ws_utf8){ 3, 0x80, 0x8F };
    else
        return false;
    return true;
}

bool msrp_ws_utf8_feed(struct msrp_ws_utf8 *u, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (u->need == 0) {
            /* MSRP headers are ASCII: skip ASCII 32, then 8 bytes at a
             * time. */
            while (i + 32 <= n) {
                uint64_t w[4];
                memcpy(w, p + i, 32);
                if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull)
                    break;
                i += 32;
            }
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            uint8_t c = p[i++];
            if (c < 0x80)
                continue;
            if (!utf8_lead(u, c))
                return false;
        } else {
            uint8_t c = p[i++];
            if (c < u->lo || c > u->hi)
                return false;
            u->lo = 0x80;
            u->hi = 0xBF;
            u->need--;
        }
    }
    return true;
}

/* ---- masking ---------------------------------------------------------- */

/* dst[i] = src[i] ^ key[(offset + i) & 3]; dst may equal src. One pass,
 * 8 bytes a step: the key pattern repeats every 4 bytes, so one word of
 * the rotated key applies at every multiple of 8. */
static void mask_to(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                    uint64_t offset)
{
    uint8_t k[8];
    for (size_t j = 0; j < 8; j++)
        k[j] = key[(offset + j) & 3];
    uint64_t k64;
    memcpy(&k64, k, 8);
    size_t i = 0;
    /* 32 bytes a step in two 16-byte vectors (SSE2/NEON registers with
     * GCC and Clang vector extensions): a quarter of the instructions of
     * the word loop on 64 KiB frames. */
    typedef uint64_t v2u64 __attribute__((vector_size(16)));
    const v2u64 kv = { k64, k64 };
    for (; i + 32 <= n; i += 32) {
        v2u64 a, b;
        memcpy(&a, src + i, 16);
        memcpy(&b, src + i + 16, 16);
        a ^= kv;
        b ^= kv;
        memcpy(dst + i, &a, 16);
        memcpy(dst + i + 16, &b, 16);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= k64;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ k[i & 7];
}

void msrp_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    mask_to(p, p, n, key, offset);
}

/* ---- close codes ------------------------------------------------------ */

bool msrp_ws_close_code_valid(unsigned code)
{
    /* 1004-1006 and 1015 are reserved or local-only; 1012-1014 were
     * registered with IANA after RFC 6455; 3000-4999 are for
     * registered names and private use; everything else is unassigned. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ---- decoder ---------------------------------------------------------- */

void msrp_ws_decoder_init(struct msrp_ws_decoder *d, enum msrp_ws_role role, uint64_t max_message)
{
    memset(d, 0, sizeof(*d));
    d->role = role;
    d->max_message = max_message;
    d->hdr_need = 2;
    d->state = ST_HEADER;
}

void msrp_ws_decoder_set_out(struct msrp_ws_decoder *d, uint8_t *out, size_t cap)
{
    d->out = cap ? out : NULL;
    d->out_cap = cap;
}

static int fail(struct msrp_ws_decoder *d, int err)
{
    d->state = ST_FAILED;
    d->err = err;
    return err;
}

static bool is_control(uint8_t op)
{
    return op & 0x8;
}

/*
 * First two bytes: everything that does not need the extended length.
 * Returns 0 or an error; sets hdr_need to the full header length.
 */
static int check_first_two(struct msrp_ws_decoder *d)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
    uint8_t op = b0 & 0x0F;
    if (d->closed)
        return MSRP_WS_E_AFTER_CLOSE;
    if (b0 & 0x70)
        return MSRP_WS_E_RSV;
    if (op != MSRP_WS_OP_CONT && op != MSRP_WS_OP_TEXT && op != MSRP_WS_OP_BINARY &&
        op != MSRP_WS_OP_CLOSE && op != MSRP_WS_OP_PING && op != MSRP_WS_OP_PONG)
        return MSRP_WS_E_OPCODE;
    bool masked = b1 & 0x80;
    if (d->role == MSRP_WS_SERVER && !masked)
        return MSRP_WS_E_UNMASKED;
    if (d->role == MSRP_WS_CLIENT && masked)
        return MSRP_WS_E_MASKED;
    uint8_t len7 = b1 & 0x7F;
    if (is_control(op)) {
        if (!(b0 & 0x80))
            return MSRP_WS_E_CONTROL_FRAG;
        if (len7 > MSRP_WS_MAX_CONTROL)
            return MSRP_WS_E_CONTROL_LEN;
    } else if (op == MSRP_WS_OP_CONT && !d->in_message) {
        return MSRP_WS_E_CONT_NO_MSG;
    } else if (op != MSRP_WS_OP_CONT && d->in_message) {
        return MSRP_WS_E_START_IN_MSG;
    }
    d->opcode = op;
    d->fin = b0 & 0x80;
    d->masked = masked;
    d->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0));
    return 0;
}

/* Whole header read: length, mask key, message bound. */
static int finish_header(struct msrp_ws_decoder *d)
{
    uint8_t len7 = d->hdr[1] & 0x7F;
    size_t at = 2;
    uint64_t len = len7;
    if (len7 == 126) {
        len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
        at = 4;
    } else if (len7 == 127) {
        len = 0;
        for (size_t i = 0; i < 8; i++)
            len = len << 8 | d->hdr[2 + i];
        if (len >> 63)
            return MSRP_WS_E_LEN64;
        at = 10;
    }
    if (d->masked)
        memcpy(d->mask, d->hdr + at, 4);
    d->mask_pos = 0;
    d->remaining = len;
    if (is_control(d->opcode)) {
        d->ctrl_len = 0;
        d->state = ST_CONTROL;
        return 0;
    }
    if (d->opcode != MSRP_WS_OP_CONT)
        d->msg_len = 0;
    /* Bound the message before its payload arrives (no overflow:
     * msg_len <= max_message always). */
    if (len > d->max_message - d->msg_len)
        return MSRP_WS_E_TOO_BIG;
    if (d->opcode != MSRP_WS_OP_CONT) {
        d->in_message = true;
        d->msg_opcode = d->opcode;
        d->utf8 = (struct msrp_ws_utf8){ 0 };
        d->pending_start = true;
    }
    d->msg_len += len;
    d->state = ST_PAYLOAD;
    return 0;
}

static void next_header(struct msrp_ws_decoder *d)
{
    d->state = ST_HEADER;
    d->hdr_have = 0;
    d->hdr_need = 2;
}

/* A complete control payload: validate, emit. */
static int finish_control(struct msrp_ws_decoder *d, struct msrp_ws_event *ev)
{
    ev->opcode = (enum msrp_ws_opcode)d->opcode;
    ev->data = d->ctrl;
    ev->n = d->ctrl_len;
    ev->close_code = 0;
    if (d->opcode == MSRP_WS_OP_PING) {
        ev->type = MSRP_WS_EV_PING;
    } else if (d->opcode == MSRP_WS_OP_PONG) {
        ev->type = MSRP_WS_EV_PONG;
    } else {
        ev->type = MSRP_WS_EV_CLOSE;
        if (d->ctrl_len == 1)
            return MSRP_WS_E_CLOSE_LEN;
        ev->close_code = MSRP_WS_CLOSE_NO_STATUS;
        if (d->ctrl_len >= 2) {
            unsigned code = (unsigned)d->ctrl[0] << 8 | d->ctrl[1];
            if (!msrp_ws_close_code_valid(code))
                return MSRP_WS_E_CLOSE_CODE;
            struct msrp_ws_utf8 u = { 0 };
            if (!msrp_ws_utf8_feed(&u, d->ctrl + 2, d->ctrl_len - 2u) || u.need)
                return MSRP_WS_E_UTF8;
            ev->close_code = (uint16_t)code;
        }
        d->closed = true;
    }
    next_header(d);
    return 1;
}

/* The current data frame's payload is fully read. */
static int finish_data_frame(struct msrp_ws_decoder *d, struct msrp_ws_event *ev)
{
    bool fin = d->fin;
    next_header(d);
    if (!fin)
        return 0;
    if (d->msg_opcode == MSRP_WS_OP_TEXT && d->utf8.need)
        return MSRP_WS_E_UTF8; /* message ends inside a code point */
    d->in_message = false;
    ev->type = MSRP_WS_EV_MSG_END;
    ev->opcode = (enum msrp_ws_opcode)d->msg_opcode;
    ev->data = NULL;
    ev->n = 0;
    ev->close_code = 0;
    return 1;
}

static int step_header(struct msrp_ws_decoder *d, const uint8_t *buf, size_t len, size_t *pos)
{
    while (*pos < len && d->hdr_have < d->hdr_need) {
        d->hdr[d->hdr_have++] = buf[(*pos)++];
        if (d->hdr_have == 2) {
            int rc = check_first_two(d);
            if (rc)
                return rc;
        }
    }
    if (d->hdr_have < d->hdr_need)
        return 0;
    int rc = finish_header(d);
    return rc ? rc : 1;
}

static int step_payload(struct msrp_ws_decoder *d, uint8_t *buf, size_t len, size_t *pos,
                        struct msrp_ws_event *ev)
{
    size_t n = len - *pos;
    if (n > d->remaining)
        n = (size_t)d->remaining;
    if (d->out && n > d->out_cap)
        n = d->out_cap;
    uint8_t *p = buf + *pos;
    if (d->out) {
        if (d->masked)
            mask_to(d->out, p, n, d->mask, d->mask_pos);
        else
            memcpy(d->out, p, n);
        p = d->out;
    } else if (d->masked) {
        msrp_ws_mask(p, n, d->mask, d->mask_pos);
    }
    if (d->msg_opcode == MSRP_WS_OP_TEXT && !msrp_ws_utf8_feed(&d->utf8, p, n))
        return MSRP_WS_E_UTF8;
    d->mask_pos = (uint8_t)((d->mask_pos + n) & 3);
    d->remaining -= n;
    *pos += n;
    ev->type = MSRP_WS_EV_DATA;
    ev->opcode = (enum msrp_ws_opcode)d->msg_opcode;
    ev->data = p;
    ev->n = n;
    ev->close_code = 0;
    return 1;
}

static void step_control(struct msrp_ws_decoder *d, const uint8_t *buf, size_t len, size_t *pos)
{
    size_t n = len - *pos;
    if (n > d->remaining)
        n = (size_t)d->remaining;
    uint8_t *dst = d->ctrl + d->ctrl_len;
    if (d->masked)
        mask_to(dst, buf + *pos, n, d->mask, d->mask_pos);
    else
        memcpy(dst, buf + *pos, n);
    d->mask_pos = (uint8_t)((d->mask_pos + n) & 3);
    d->ctrl_len = (uint8_t)(d->ctrl_len + n);
    d->remaining -= n;
    *pos += n;
}

int msrp_ws_decode(struct msrp_ws_decoder *d, uint8_t *buf, size_t len, size_t *consumed,
                   struct msrp_ws_event *ev)
{
    size_t pos = 0;
    int rc = 0;
    *consumed = 0;
    for (;;) {
        if (d->state == ST_FAILED)
            return d->err;
        if (d->pending_start) {
            d->pending_start = false;
            *ev = (struct msrp_ws_event){ .type = MSRP_WS_EV_MSG_START,
                                          .opcode = (enum msrp_ws_opcode)d->msg_opcode };
            rc = 1;
            break;
        }
        if (d->state == ST_HEADER) {
            if (pos == len)
                break;
            rc = step_header(d, buf, len, &pos);
            if (rc <= 0)
                break;
            rc = 0;
        } else if (d->state == ST_PAYLOAD) {
            if (d->remaining == 0) {
                rc = finish_data_frame(d, ev);
                if (rc != 0)
                    break;
            } else if (pos == len) {
                break;
            } else {
                rc = step_payload(d, buf, len, &pos, ev);
                break;
            }
        } else { /* ST_CONTROL */
            if (d->remaining && pos < len)
                step_control(d, buf, len, &pos);
            if (d->remaining)
                break;
            rc = finish_control(d, ev);
            break;
        }
    }
    *consumed = pos;
    return rc < 0 ? fail(d, rc) : rc;
}

/* ---- encoder ---------------------------------------------------------- */

size_t msrp_ws_frame_header(uint8_t out[MSRP_WS_MAX_HEADER], enum msrp_ws_opcode op, bool fin,
                            uint64_t len, const uint8_t *mask)
{
    size_t at = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x0F));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[1] = m | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        at = 4;
    } else {
        out[1] = m | 127;
        for (size_t i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        at = 10;
    }
    if (mask) {
        memcpy(out + at, mask, 4);
        at += 4;
    }
    return at;
}

long msrp_ws_encode_frame(uint8_t *out, size_t out_cap, enum msrp_ws_opcode op, bool fin,
                          const uint8_t *payload, size_t n, const uint8_t *mask)
{
    uint8_t hdr[MSRP_WS_MAX_HEADER];
    size_t h = msrp_ws_frame_header(hdr, op, fin, n, mask);
    if (out_cap < h || out_cap - h < n)
        return -1;
    memcpy(out, hdr, h);
    if (n)
        memcpy(out + h, payload, n);
    if (mask)
        msrp_ws_mask(out + h, n, mask, 0);
    return (long)(h + n);
}

size_t msrp_ws_close_payload(uint8_t out[MSRP_WS_MAX_CONTROL], uint16_t code, const char *reason,
                             size_t reason_len)
{
    if (code == 0)
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason_len > MSRP_WS_MAX_CONTROL - 2)
        reason_len = MSRP_WS_MAX_CONTROL - 2;
    if (reason_len)
        memcpy(out + 2, reason, reason_len);
    return 2 + reason_len;
}
