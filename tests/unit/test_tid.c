/* test_tid.c: random transaction ids. */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/error.h"
#include "proto/tid.h"

static bool in_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Test(tid, alphabet_length_and_no_overrun)
{
    for (size_t len = MSRP_TID_MIN_LEN; len <= MSRP_TID_MAX_LEN; len++) {
        char buf[MSRP_TID_MAX_LEN + 4];
        memset(buf, '#', sizeof(buf));
        cr_assert_eq(msrp_tid_generate(buf, len), 0);
        for (size_t i = 0; i < len; i++)
            cr_assert(in_alphabet(buf[i]), "len %zu char %zu = 0x%02x", len, i, (unsigned char)buf[i]);
        cr_assert_eq(buf[len], '#', "wrote past len %zu", len);
    }
}

Test(tid, rejects_bad_lengths)
{
    char buf[64];
    cr_assert_eq(msrp_tid_generate(buf, 0), MSRP_E_INVALID);
    cr_assert_eq(msrp_tid_generate(buf, MSRP_TID_MIN_LEN - 1), MSRP_E_INVALID);
    cr_assert_eq(msrp_tid_generate(buf, MSRP_TID_MAX_LEN + 1), MSRP_E_INVALID);
    struct msrp_tid_gen g = { 0 };
    cr_assert_eq(msrp_tid_gen_next(&g, buf, 3), MSRP_E_INVALID);
    cr_assert_eq(msrp_tid_gen_next(&g, buf, 33), MSRP_E_INVALID);
}

Test(tid, ids_differ_and_cover_alphabet)
{
    /* 2000 ids of 16 chars from the batched generator: all distinct (a
     * collision at 95 bits means a broken generator) and every one of the
     * 62 characters seen (32000 draws: missing one has probability ~1e-220). */
    static char ids[2000][MSRP_TID_DEFAULT_LEN];
    struct msrp_tid_gen g = { 0 };
    bool seen[256] = { false };
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(msrp_tid_gen_next(&g, ids[i], MSRP_TID_DEFAULT_LEN), 0);
        for (int k = 0; k < MSRP_TID_DEFAULT_LEN; k++) {
            cr_assert(in_alphabet(ids[i][k]));
            seen[(unsigned char)ids[i][k]] = true;
        }
    }
    for (int i = 1; i < 2000; i++)
        cr_assert_neq(memcmp(ids[i], ids[i - 1], MSRP_TID_DEFAULT_LEN), 0);
    int kinds = 0;
    for (int c = 0; c < 256; c++)
        kinds += seen[c];
    cr_assert_eq(kinds, 62);

    char a[16], b[16];
    cr_assert_eq(msrp_tid_generate(a, 16), 0);
    cr_assert_eq(msrp_tid_generate(b, 16), 0);
    cr_assert_neq(memcmp(a, b, 16), 0);
}

Test(tid, gen_survives_corrupted_state)
{
    struct msrp_tid_gen g;
    memset(&g, 0xff, sizeof(g));
    char buf[16];
    cr_assert_eq(msrp_tid_gen_next(&g, buf, 16), 0);
    cr_assert(g.pos <= g.len && g.len <= sizeof(g.pool));
}
