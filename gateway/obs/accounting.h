/*
 * accounting.h: one record per ended session, for billing and audits.
 *
 * A session is, for the relay, an AUTHed reservation with its connection
 * (from the AUTH's 200 to the connection's close or an "Expires: 0"), and
 * for the SBC sidecar one anchored MSRP section with its two legs (from
 * the offer to delete, anchor_timeout, kill or shutdown). The record is
 * one JSON object on one line (gw_acct_format).
 *
 * Writing never blocks a loop thread: gw_acct_put() formats on the caller's
 * thread and queues the line in the accounting's sink (sink.h: a bounded
 * ring of GW_ACCT_QUEUE_BYTES and a writer thread), which appends the
 * lines to the file (O_APPEND, reopened by gw_acct_reopen, e.g. on SIGHUP)
 * and, when asked, to syslog. When the queue is full, or the file refuses
 * a write, a record is dropped and counted (gw_acct_dropped), and the log
 * says so once the writer catches up: a stalled disk cannot stall the
 * relay.
 */
#ifndef GW_ACCOUNTING_H
#define GW_ACCOUNTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_ACCT_QUEUE_BYTES (1u << 20)
#define GW_ACCT_LINE_MAX 4096

struct gw_acct_record {
    const char *kind;          /* "reservation" or "anchor" */
    const char *id;            /* session id (an anchor: its offerer leg's) */
    const char *user;          /* AUTH user name; "" for anchors */
    const char *peer;          /* reservation: the connection's ip:port;
                                * anchor: the offerer's a=path */
    const char *remote;        /* reservation: the client URI it AUTHed
                                * with; anchor: the answerer's a=path */
    const char *call_id;       /* anchors only, else NULL */
    uint64_t start_ms;         /* Unix time in ms */
    uint64_t duration_ms;
    /* "in": from the session's endpoint(s) to msrpgw, "out": the other way.
     * bytes: MSRP bytes on the connection from its start (AUTH exchange,
     * headers, bodies, responses: what the kernel counts on the socket;
     * anchors: body bytes only); body: body bytes of forwarded chunks;
     * chunks: SEND/REPORT requests forwarded from / written to it. */
    uint64_t bytes_in, bytes_out;
    uint64_t body_in, body_out;
    uint64_t chunks_in, chunks_out;
    const char *reason;        /* normal, killed, idle_timeout, ... */
};

/* The record as one JSON line ending in '\n' (strings escaped, NULL
 * strings left out). Returns the length, or -ENOSPC (nothing usable). */
int gw_acct_format(char *buf, size_t cap, const struct gw_acct_record *r);

/* Appends s (n bytes) to buf as a JSON string with quotes; the bytes
 * written, or 0 when cap is too small. Control and non-ASCII bytes are
 * written \u00XX. */
size_t gw_json_str(char *buf, size_t cap, const char *s, size_t n);

/* Starts the writer: file ("" or NULL = none) opened for appending, and
 * syslog when use_syslog. Neither: accounting stays off. 0 or -errno. */
int gw_acct_start(const char *file, bool use_syslog);
/* True between gw_acct_start (with a sink) and gw_acct_stop. */
bool gw_acct_enabled(void);
/* Queues r (any thread, never blocks on I/O). */
void gw_acct_put(const struct gw_acct_record *r);
/* The file is reopened by the writer before its next write (SIGHUP). */
void gw_acct_reopen(void);
/* Writes what is queued and joins the writer (a file or syslog: no
 * reader can hold them back the way a pipe can hold the log; a FIFO gets
 * 10 s). */
void gw_acct_stop(void);
uint64_t gw_acct_dropped(void);

#endif
