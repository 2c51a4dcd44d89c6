/*
 * path.h: an MSRP path (To-Path, From-Path, Use-Path, SDP a=path) owned as
 * text together with its parsed URIs, so a session can keep the paths it
 * was given and hand them to the writer without reparsing.
 *
 * The parsed URIs point into the struct's own text: never copy a struct
 * gw_path with memcpy or assignment, use gw_path_copy().
 */
#ifndef GW_PATH_H
#define GW_PATH_H

#include <stddef.h>

#include "proto/parser.h"
#include "proto/uri.h"

#define GW_PATH_TEXT_MAX 2048

struct gw_path {
    char text[GW_PATH_TEXT_MAX]; /* space-separated URIs, NUL-terminated */
    size_t len;
    struct msrp_uri uris[MSRP_PATH_CAP];
    unsigned n; /* 0: empty path */
};

/* Parses a space-separated path. 0, -EINVAL (bad URI, empty) or -E2BIG. */
int gw_path_set(struct gw_path *p, const char *text, size_t n);
/* Rebuilds p from parsed URIs (their raw text). Same errors. */
int gw_path_set_uris(struct gw_path *p, const struct msrp_uri *u, size_t n);
/* p = front + p (the Use-Path of our relay goes before the remote path). */
int gw_path_prepend(struct gw_path *p, const struct gw_path *front);
int gw_path_copy(struct gw_path *dst, const struct gw_path *src);
/* The last URI (the endpoint), or NULL for an empty path. */
const struct msrp_uri *gw_path_last(const struct gw_path *p);

/*
 * Generates a local endpoint URI "msrp[s]://host:port/SESSID;tcp" with a
 * random session id of 20 characters (proto/tid.h generator). IPv6 hosts
 * are bracketed. Returns the length, or -ENOSPC / -EIO (no randomness).
 */
int gw_local_uri_make(char *buf, size_t cap, const char *host, unsigned port, int tls);

#endif
