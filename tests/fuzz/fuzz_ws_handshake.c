/*
 * fuzz_ws_handshake.c: the WebSocket Upgrade request parser and the
 * client's response validator on arbitrary bytes. A request that parses
 * is answered (101) and the client side must accept that answer; it is
 * also rewritten by the client writer and must parse to the same Host
 * and path. Every refusal maps to an HTTP status.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws_handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t nonce[16] = { 't', 'h', 'e', ' ', 's', 'a', 'm', 'p',
                                   'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e' };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t used;
    int rc = msrp_ws_hs_check_response(s, size, &used, nonce);
    if (rc == 0 && (used == 0 || used > size))
        abort();

    struct msrp_ws_request r;
    rc = msrp_ws_hs_parse_request(&r, s, size, &used);
    if (rc == MSRP_WS_HS_INCOMPLETE) {
        if (size >= MSRP_WS_HS_MAX_BYTES)
            abort();
        return 0;
    }
    if (rc != 0) {
        int st = msrp_ws_hs_status(rc);
        if (st != 400 && st != 426 && st != 431)
            abort();
        char out[256];
        if (msrp_ws_hs_reject(out, sizeof(out), rc) <= 0)
            abort();
        return 0;
    }
    if (used == 0 || used > size || used > MSRP_WS_HS_MAX_BYTES)
        abort();
    static char rsp[512];
    int m = msrp_ws_hs_accept(rsp, sizeof(rsp), &r);
    if (m <= 0)
        abort();
    /* The response answers r.key, not our nonce: check it against the
     * accept value directly; the client validator gets a response it
     * must refuse unless the key happens to be the nonce's. */
    char acc[MSRP_WS_HS_ACCEPT_LEN + 1];
    if (msrp_ws_hs_accept_value(acc, r.key) != 0 || !strstr(rsp, acc))
        abort();
    rc = msrp_ws_hs_check_response(rsp, (size_t)m, &used, nonce);
    if (rc != 0 && rc != MSRP_WS_HS_E_ACCEPT)
        abort();
    /* The client writer reproduces a request with the same Host and path. */
    static char req[2 * MSRP_WS_HS_MAX_BYTES];
    int n = msrp_ws_hs_client_request(req, sizeof(req), r.host, r.path, r.origin, nonce);
    if (n <= 0)
        abort();
    /* Our spelling of the fixed headers may be a few bytes longer. */
    if (n > MSRP_WS_HS_MAX_BYTES)
        return 0;
    struct msrp_ws_request r2;
    if (msrp_ws_hs_parse_request(&r2, req, (size_t)n, &used) != 0 || used != (size_t)n)
        abort();
    if (!msrp_slice_eq(r2.host, r.host) || !msrp_slice_eq(r2.path, r.path))
        abort();
    if ((r.origin.p == NULL) != (r2.origin.p == NULL) || !msrp_slice_eq(r2.origin, r.origin))
        abort();
    return 0;
}
