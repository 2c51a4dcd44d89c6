/*
 * tid.h: random MSRP transaction ids (RFC 4975 sections 6, 7.1).
 *
 * The transaction id is also the end-line delimiter ("-------" tid flag),
 * so a body must never contain "-------" followed by the id. With 16
 * characters drawn uniformly from 62 (~95.3 bits) by a CSPRNG, a body that
 * was chosen without knowing the id contains the delimiter by chance with
 * probability about N / 62^16 per N bytes: below 2^-55 for a whole
 * terabyte. A peer cannot aim for it because the id is drawn after the
 * body exists and is unpredictable. The sender still checks every body
 * (msrp_body_check in writer.h) because the check is cheap and the
 * probability is not zero.
 *
 * Ids are [A-Za-z0-9] only: a strict subset of the RFC's ident grammar,
 * so they need no escaping anywhere and the first character is ALPHANUM.
 */
#ifndef MSRP_TID_H
#define MSRP_TID_H

#include <stddef.h>
#include <stdint.h>

#define MSRP_TID_DEFAULT_LEN 16
#define MSRP_TID_MIN_LEN 4  /* RFC 4975: ident = ALPHANUM 3*31ident-char */
#define MSRP_TID_MAX_LEN 32

/*
 * Writes len random characters from [A-Za-z0-9] into out (no NUL is
 * written: out needs len bytes). len must be in MSRP_TID_MIN_LEN..
 * MSRP_TID_MAX_LEN. One getrandom(2) call per id: fine for occasional ids,
 * see struct msrp_tid_gen for the hot path.
 * Returns 0, MSRP_E_INVALID or MSRP_E_RANDOM (no random source).
 */
int msrp_tid_generate(char *out, size_t len);

/*
 * Batched generator for the send path (one id per chunk): refills a pool
 * of random bytes with one getrandom(2) call every ~12 ids instead of one
 * syscall per id. The caller owns it (one per core or per connection;
 * never shared between threads without a lock). Zero-filled is a valid
 * initial state. Each pool byte is zeroed once used, so a later memory
 * disclosure does not reveal ids already issued.
 */
struct msrp_tid_gen {
    uint8_t pool[256];
    uint16_t pos; /* next unused byte */
    uint16_t len; /* valid bytes in pool */
};

/* Same contract as msrp_tid_generate, drawing from g's pool. */
int msrp_tid_gen_next(struct msrp_tid_gen *g, char *out, size_t len);

#endif
