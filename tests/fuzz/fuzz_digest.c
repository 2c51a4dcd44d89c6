/*
 * fuzz_digest.c: the Digest header parser, the verifier and the client
 * builder on arbitrary header values. The first byte picks a clock so the
 * stale path is reached as well.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/digest.h"
#include "proto/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[] = "fuzz-secret-0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct msrp_digest_fields f;
    const struct msrp_digest_server sv = { secret, sizeof(secret) - 1,
                                           MSRP_SLICE_LIT("relay.example.com"), 300 };
    uint64_t now = size ? (uint64_t)data[0] * 100 : 0;
    int rc = msrp_digest_parse(&f, (const char *)data, size);
    if (rc != 0 && rc != MSRP_E_AUTH_PARAM)
        abort();
    if (rc != 0)
        return 0;
    if (f.used > MSRP_DIGEST_STORE)
        abort();
    const struct msrp_digest_check chk = { MSRP_SLICE_LIT("AUTH"),
                                           MSRP_SLICE_LIT("msrps://relay.example.com:2855;tcp"),
                                           MSRP_SLICE_LIT("pw"), MSRP_SLICE_LIT("") };
    uint32_t nc;
    rc = msrp_digest_verify(&sv, now, &f, &chk, &nc);
    /* Without our secret no input can authenticate. */
    if (rc == 0 || rc == MSRP_E_AUTH_STALE)
        abort();
    if (rc != MSRP_E_AUTH_PARAM && rc != MSRP_E_AUTH_FAILED)
        abort();
    char out[8192];
    (void)msrp_digest_auth_info(out, sizeof(out), &f, &chk);
    const struct msrp_digest_client cl = { MSRP_SLICE_LIT("alice"), MSRP_SLICE_LIT("pw"),
                                           MSRP_SLICE_LIT("msrps://relay.example.com:2855;tcp"),
                                           MSRP_SLICE_LIT("abcdef"), 1, false };
    int n = msrp_digest_authorization(out, sizeof(out), &f, &cl);
    if (n > 0 && f.used < MSRP_DIGEST_STORE - 512) {
        /* What we write, we parse (when the values we add still fit the
         * parser's bounded store: username, uri, response, cnonce...). */
        static struct msrp_digest_fields g;
        if (msrp_digest_parse(&g, out, (size_t)n) != 0)
            abort();
        if (!msrp_slice_eq(g.realm, f.realm) || !msrp_slice_eq(g.nonce, f.nonce))
            abort();
    }
    return 0;
}
