/*
 * api_uri.c: libmsrpgw's public URI handle (msrpgw/uri.h) over
 * proto/uri.h. The handle keeps the text the parsed slices point into and
 * a NUL-terminated copy of each part, so callers get plain C strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/lib/lib.h"
#include "proto/error.h"
#include "proto/uri.h"

#define URI_TEXT_MAX 65535

struct msrpgw_uri {
    struct msrp_uri u; /* slices into text */
    char *text;
    char *user, *host, *session_id, *transport;
};

static char *dup_slice(struct msrp_slice s)
{
    return strndup(s.p ? s.p : "", s.n);
}

MSRPGW_API int msrpgw_uri_parse(struct msrpgw_uri **out, const char *text)
{
    size_t n = strlen(text);
    if (n > URI_TEXT_MAX)
        return -E2BIG;
    struct msrpgw_uri *w = calloc(1, sizeof(*w));
    if (!w || !(w->text = strndup(text, n))) {
        free(w);
        return -ENOMEM;
    }
    int rc = msrp_uri_parse(&w->u, w->text, n, URI_TEXT_MAX);
    if (rc != 0) {
        msrpgw_uri_free(w);
        return rc == MSRP_E_URI_TOO_LONG ? -E2BIG : -EINVAL;
    }
    w->user = dup_slice(w->u.user);
    w->host = dup_slice(w->u.host);
    w->session_id = dup_slice(w->u.session_id);
    w->transport = dup_slice(w->u.transport);
    if (!w->user || !w->host || !w->session_id || !w->transport) {
        msrpgw_uri_free(w);
        return -ENOMEM;
    }
    *out = w;
    return 0;
}

MSRPGW_API void msrpgw_uri_free(struct msrpgw_uri *u)
{
    if (!u)
        return;
    free(u->text);
    free(u->user);
    free(u->host);
    free(u->session_id);
    free(u->transport);
    free(u);
}

MSRPGW_API int msrpgw_uri_is_tls(const struct msrpgw_uri *u)
{
    return u->u.scheme == MSRP_SCHEME_MSRPS;
}

MSRPGW_API const char *msrpgw_uri_user(const struct msrpgw_uri *u)
{
    return u->user;
}

MSRPGW_API const char *msrpgw_uri_host(const struct msrpgw_uri *u)
{
    return u->host;
}

MSRPGW_API uint16_t msrpgw_uri_port(const struct msrpgw_uri *u)
{
    return msrp_uri_port(&u->u);
}

MSRPGW_API const char *msrpgw_uri_session_id(const struct msrpgw_uri *u)
{
    return u->session_id;
}

MSRPGW_API const char *msrpgw_uri_transport(const struct msrpgw_uri *u)
{
    return u->transport;
}

MSRPGW_API const char *msrpgw_uri_text(const struct msrpgw_uri *u)
{
    return u->text;
}

MSRPGW_API int msrpgw_uri_equal(const struct msrpgw_uri *a, const struct msrpgw_uri *b)
{
    return msrp_uri_equal(&a->u, &b->u) ? 1 : 0;
}
