/*
 * error.h: every error the proto/ library reports, with a stable short name
 * (msrpdump prints it, metrics count it, tests assert it). Functions return
 * 0 or one of these negative codes; the caller decides between a 400
 * response and closing the connection.
 */
#ifndef MSRP_ERROR_H
#define MSRP_ERROR_H

/* X(code, value, name) */
#define MSRP_ERRORS(X)                                                     \
    X(MSRP_E_START_LINE, -1, "bad_start_line")                             \
    X(MSRP_E_TID, -2, "bad_transaction_id")                                \
    X(MSRP_E_TID_TOO_LONG, -3, "transaction_id_too_long")                  \
    X(MSRP_E_METHOD, -4, "bad_method")                                     \
    X(MSRP_E_STATUS_CODE, -5, "bad_status_code")                           \
    X(MSRP_E_LINE_ENDING, -6, "bad_line_ending")                           \
    X(MSRP_E_HEADER_SYNTAX, -7, "bad_header")                              \
    X(MSRP_E_HEADERS_TOO_LARGE, -8, "header_section_too_large")            \
    X(MSRP_E_TOO_MANY_HEADERS, -9, "too_many_headers")                     \
    X(MSRP_E_PATH_ORDER, -10, "path_headers_not_first")                    \
    X(MSRP_E_DUPLICATE_HEADER, -11, "duplicate_header")                    \
    X(MSRP_E_URI, -12, "bad_uri")                                          \
    X(MSRP_E_URI_TOO_LONG, -13, "uri_too_long")                            \
    X(MSRP_E_TOO_MANY_URIS, -14, "too_many_uris")                          \
    X(MSRP_E_BYTE_RANGE, -15, "bad_byte_range")                            \
    X(MSRP_E_REPORT_VALUE, -16, "bad_report_value")                        \
    X(MSRP_E_STATUS_HEADER, -17, "bad_status_header")                      \
    X(MSRP_E_EXPIRES, -18, "bad_expires")                                  \
    X(MSRP_E_HEADER_VALUE, -19, "bad_header_value")                        \
    X(MSRP_E_END_LINE, -20, "bad_end_line")                                \
    X(MSRP_E_NOSPACE, -21, "buffer_too_small")                             \
    X(MSRP_E_AUTH_PARAM, -22, "bad_auth_param")                            \
    X(MSRP_E_AUTH_STALE, -23, "stale_nonce")                               \
    X(MSRP_E_AUTH_FAILED, -24, "auth_failed")                              \
    X(MSRP_E_BODY_HAS_END_LINE, -25, "body_contains_end_line")             \
    X(MSRP_E_RANDOM, -26, "random_source_failed")                          \
    X(MSRP_E_INVALID, -27, "invalid_argument")

enum msrp_err {
    MSRP_OK = 0,
#define MSRP_ERR_ENUM(code, value, name) code = value,
    MSRP_ERRORS(MSRP_ERR_ENUM)
#undef MSRP_ERR_ENUM
};

/* Short stable name of an error code ("ok" for 0, "unknown" otherwise). */
const char *msrp_strerror(int err);

#endif
