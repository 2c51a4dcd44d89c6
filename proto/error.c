/* error.c: names of the proto/ error codes. */
#include "proto/error.h"

const char *msrp_strerror(int err)
{
    switch (err) {
    case MSRP_OK:
        return "ok";
#define MSRP_ERR_NAME(code, value, name) \
    case code:                           \
        return name;
        MSRP_ERRORS(MSRP_ERR_NAME)
#undef MSRP_ERR_NAME
    }
    return "unknown";
}
