/*
 * accepttypes.c: content type filter (contract in accepttypes.h).
 */
#include "gateway/wire/accepttypes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Between list entries: SDP separates them by spaces, config values may
 * use commas as every other list setting does. */
static bool is_sep(char c)
{
    return is_blank(c) || c == ',';
}

/* Cuts parameters and blanks: "Text/Plain ; charset=x" -> "Text/Plain". */
static struct msrp_slice media_type(struct msrp_slice t)
{
    size_t i = 0;
    while (i < t.n && is_blank(t.p[i]))
        i++;
    size_t j = i;
    while (j < t.n && t.p[j] != ';' && !is_blank(t.p[j]))
        j++;
    return msrp_slice(t.p + i, j - i);
}

static bool entry_match(struct msrp_slice e, struct msrp_slice t)
{
    if (e.n == 1 && e.p[0] == '*')
        return true;
    const char *slash = memchr(t.p, '/', t.n);
    if (!slash || slash == t.p || slash == t.p + t.n - 1)
        return false;
    if (e.n >= 2 && e.p[e.n - 2] == '/' && e.p[e.n - 1] == '*') {
        size_t tl = (size_t)(slash - t.p);
        return msrp_slice_caseeq(msrp_slice(e.p, e.n - 2), msrp_slice(t.p, tl));
    }
    return msrp_slice_caseeq(e, t);
}

/* The next entry of a list separated by blanks or commas, from *p on;
 * *p moves past it. An empty slice at the end of the list. */
static struct msrp_slice next_entry(const char **p)
{
    const char *s = *p;
    while (is_sep(*s))
        s++;
    const char *e = s;
    while (*e && !is_sep(*e))
        e++;
    *p = e;
    return msrp_slice(s, (size_t)(e - s));
}

bool gw_accept_types_match(const char *list, struct msrp_slice ctype)
{
    if (!list || !*list)
        return true;
    struct msrp_slice t = media_type(ctype);
    for (const char *p = list; *p;) {
        struct msrp_slice e = next_entry(&p);
        if (e.n > 0 && entry_match(e, t))
            return true;
    }
    return false;
}

static bool token_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '/' || p[i] == ';' || p[i] == '*' || (unsigned char)p[i] <= ' ' ||
            p[i] == 0x7f)
            return false;
    return true;
}

static bool entry_ok(const char *p, size_t n)
{
    if (n == 1 && p[0] == '*')
        return true;
    const char *slash = memchr(p, '/', n);
    if (!slash || !token_ok(p, (size_t)(slash - p)))
        return false;
    size_t rest = n - (size_t)(slash - p) - 1;
    return (rest == 1 && slash[1] == '*') || token_ok(slash + 1, rest);
}

int gw_accept_types_check(const char *list, char *msg, size_t msglen)
{
    for (const char *p = list ? list : ""; *p;) {
        struct msrp_slice e = next_entry(&p);
        if (e.n > 0 && !entry_ok(e.p, e.n)) {
            if (msglen)
                snprintf(msg, msglen, "bad content type '%.*s' (want *, type/* or type/subtype)",
                         (int)e.n, e.p);
            return -EINVAL;
        }
    }
    return 0;
}
