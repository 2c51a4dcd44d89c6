/*
 * bencode.h: the bencode codec of the ng control protocol (rtpengine's,
 * itself BitTorrent's encoding): i-12e, 4:spam, l...e, d...e with
 * byte-string keys. An ng datagram is "COOKIE SP BENCODED-DICT".
 *
 * The decoder is a pure function of bytes, as picohttpparser's: the caller
 * owns the node array, strings are slices into the input (valid as long as
 * those bytes are), nothing is allocated, there is no recursion and no
 * stack beyond a few locals whatever the nesting. It accepts exactly the
 * canonical encoding (what ng_benc_* write), so a decoded value re-encodes
 * to the same bytes -- with one leniency rtpengine has too: dictionary keys
 * in any order (duplicates allowed; ng_bdict_get finds the first).
 *
 * The encoder writes into a caller buffer; running out of room sticks in
 * err, so a reply is built with no checks and checked once at the end.
 */
#ifndef GW_NG_BENCODE_H
#define GW_NG_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

enum ng_btype { NG_BSTR = 1, NG_BINT, NG_BLIST, NG_BDICT };

/*
 * One decoded value. nodes[] holds a value and its descendants in document
 * order (pre-order), nodes[0] the root; children are linked by index, so a
 * node array can be copied or kept without fixing pointers. Index 0 is
 * never a child, hence 0 = none.
 */
struct ng_bval {
    enum ng_btype type;
    struct msrp_slice s;  /* NG_BSTR: the bytes (points into the input); else empty */
    int64_t i;            /* NG_BINT; else 0 */
    uint32_t n;           /* NG_BLIST: elements; NG_BDICT: key/value pairs; else 0 */
    uint32_t first;       /* index of the first child (dict: key, value, key, value...); 0 = none */
    uint32_t next;        /* index of the next sibling in the parent; 0 = none */
};

enum {
    NG_B_EINVAL = -1,     /* malformed, or truncated */
    NG_B_ETOOBIG = -2,    /* more nodes than max_nodes */
    NG_B_EDEPTH = -3,     /* nesting deeper than max_depth */
    NG_B_ETRAIL = -4,     /* bytes after the value */
};

/*
 * Decodes one complete value spanning p[0..n) into nodes[] (nodes[0] is
 * the root). Returns the node count (>= 1) or an NG_B_E* code; after an
 * error, nodes[] holds nothing usable. Any type is accepted at the top
 * level: a caller that wants a dictionary checks nodes[0].type.
 *
 *  - max_nodes bounds the nodes written (values of max_nodes above INT_MAX
 *    count as INT_MAX); max_depth bounds the containers open at once: 0
 *    admits only a string or integer, 1 a flat list or dict, and so on.
 *  - Integers: "i" ["-"] digits "e", fitting int64, no leading zero, no
 *    "-0", no empty digits.
 *  - Strings: length in decimal without leading zeros ("0:" is the empty
 *    string), never more than what is left of the input.
 *  - Dictionaries: a string key before every value, keys in any order.
 * Nothing is read outside p[0..n).
 */
int ng_bdecode(const char *p, size_t n, struct ng_bval *nodes, size_t max_nodes, unsigned max_depth);

/* The value under key in dict (NULL if absent, or dict is NULL or not a dict). */
const struct ng_bval *ng_bdict_get(const struct ng_bval *nodes, const struct ng_bval *dict,
                                   const char *key);
/* Iteration: the first child of a list or dict (for a dict the first key,
 * whose ng_bnext is its value), the next sibling; NULL when there is none
 * or v is NULL. */
const struct ng_bval *ng_bchild(const struct ng_bval *nodes, const struct ng_bval *v);
const struct ng_bval *ng_bnext(const struct ng_bval *nodes, const struct ng_bval *v);
/* Does string value v equal the C string s? (false when v is NULL or not a string) */
bool ng_bstr_eq(const struct ng_bval *v, const char *s);
/* Does list hold a string equal to s (rtpengine "flags": ["trust-address", ...])?
 * Elements that are not strings are skipped; false when list is NULL or not a list. */
bool ng_blist_has(const struct ng_bval *nodes, const struct ng_bval *list, const char *s);

/*
 * Encoder into buf[0..cap). n is the length written; a write that does not
 * fit sets err = -1 and writes nothing, and every later call is a no-op, so
 * buf[0..n) is always a prefix of the intended output and nothing is
 * written past cap. The output is not NUL-terminated. Balancing dict/list
 * with end, and a key before every dict value, is the caller's job.
 */
struct ng_benc {
    char *p;
    size_t n, cap;
    int err;
};

void ng_benc_init(struct ng_benc *e, char *buf, size_t cap);
void ng_benc_dict(struct ng_benc *e);   /* 'd' */
void ng_benc_list(struct ng_benc *e);   /* 'l' */
void ng_benc_end(struct ng_benc *e);    /* 'e' */
void ng_benc_str(struct ng_benc *e, const char *p, size_t n);
void ng_benc_cstr(struct ng_benc *e, const char *s);  /* NULL writes "0:" */
void ng_benc_int(struct ng_benc *e, int64_t v);
/* Dict entries: key, then value. */
void ng_benc_kv_str(struct ng_benc *e, const char *key, const char *p, size_t n);
void ng_benc_kv_cstr(struct ng_benc *e, const char *key, const char *v);
void ng_benc_kv_int(struct ng_benc *e, const char *key, int64_t v);

#define NG_COOKIE_LEN_MAX 64

/*
 * "COOKIE SP BENCODE": the cookie is everything before the first SP, 1 to
 * NG_COOKIE_LEN_MAX visible ASCII bytes (0x21..0x7e: it is echoed in the
 * reply and used as a C string key); body is everything after that SP,
 * possibly empty (the decoder then says it is malformed, and the caller can
 * still answer the cookie with an error). 0 or NG_B_EINVAL.
 */
int ng_split_cookie(const char *p, size_t n, struct msrp_slice *cookie, struct msrp_slice *body);

#endif
