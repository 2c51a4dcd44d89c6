/*
 * slurp.h: reading a whole small file (the config, the users file) into
 * memory, bounded, for loaders that parse text.
 */
#ifndef GW_SLURP_H
#define GW_SLURP_H

#include <stddef.h>

/*
 * Reads path to its end (not trusting its size: it may grow while read)
 * into a malloc'd, NUL-terminated buffer: *text (free it), *len bytes.
 * Returns 0, -errno, or -EFBIG past max bytes; err gets "path: reason".
 */
int gw_slurp(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen);

#endif
