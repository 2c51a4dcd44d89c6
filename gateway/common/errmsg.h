/*
 * errmsg.h: error messages written into caller-owned buffers, the way the
 * config and users loaders report "file:line: reason" to their callers.
 */
#ifndef GW_ERRMSG_H
#define GW_ERRMSG_H

#include <stddef.h>

/* vsnprintf into err[0..errlen); a NULL or empty buffer is ignored. */
void gw_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
