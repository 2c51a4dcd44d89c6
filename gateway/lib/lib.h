/*
 * lib.h: what the files of libmsrpgw's public face (gateway/lib/api_*.c)
 * share: the public headers, with MSRPGW_API exporting (MSRPGW_BUILDING
 * is defined for the library's objects only, by gateway/lib/CMakeLists.txt).
 */
#ifndef GW_LIB_H
#define GW_LIB_H

#include <msrpgw/msrpgw.h>

#endif
