/*
 * msrpgw/export.h: MSRPGW_API marks the functions libmsrpgw exports. The
 * library is compiled with -fvisibility=hidden, so everything else in it
 * (the proto/, uring/ and session internals) stays private to the shared
 * object; MSRPGW_BUILDING is defined only while the library is built.
 */
#ifndef MSRPGW_EXPORT_H
#define MSRPGW_EXPORT_H

#if defined(MSRPGW_BUILDING) && defined(__GNUC__)
#define MSRPGW_API __attribute__((visibility("default")))
#else
#define MSRPGW_API
#endif

#endif
