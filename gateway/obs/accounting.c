/*
 * accounting.c: session records as JSON lines, and the sink that writes
 * them (see accounting.h; the ring and its writer thread are sink.c's).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "gateway/obs/accounting.h"
#include "gateway/obs/sink.h"

/* --- formatting -------------------------------------------------------------- */

size_t gw_json_str(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    if (cap < 2)
        return 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t k;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20 || c >= 0x7f) {
            k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        if (o + k + 1 > cap)
            return 0;
        memcpy(buf + o, esc, k);
        o += k;
    }
    if (o + 1 > cap)
        return 0;
    buf[o++] = '"';
    return o;
}

struct jout {
    char *p;
    size_t cap, n;
    bool full;
};

static void jraw(struct jout *o, const char *s)
{
    size_t k = strlen(s);
    if (o->full || o->n + k > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, k);
    o->n += k;
}

static void jkey_str(struct jout *o, const char *key, const char *v)
{
    if (!v || o->full)
        return;
    jraw(o, o->n > 1 ? ",\"" : "\"");
    jraw(o, key);
    jraw(o, "\":");
    size_t k = o->full ? 0 : gw_json_str(o->p + o->n, o->cap - o->n, v, strlen(v));
    if (!k)
        o->full = true;
    o->n += k;
}

static void jkey_u64(struct jout *o, const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    jraw(o, o->n > 1 ? ",\"" : "\"");
    jraw(o, key);
    jraw(o, "\":");
    jraw(o, num);
}

int gw_acct_format(char *buf, size_t cap, const struct gw_acct_record *r)
{
    struct jout o = { buf, cap, 0, false };
    jraw(&o, "{");
    jkey_str(&o, "kind", r->kind);
    jkey_str(&o, "id", r->id);
    jkey_str(&o, "call_id", r->call_id);
    jkey_str(&o, "user", r->user);
    jkey_str(&o, "peer", r->peer);
    jkey_str(&o, "remote", r->remote);
    jkey_u64(&o, "start_ms", r->start_ms);
    jkey_u64(&o, "duration_ms", r->duration_ms);
    jkey_u64(&o, "bytes_in", r->bytes_in);
    jkey_u64(&o, "bytes_out", r->bytes_out);
    jkey_u64(&o, "body_in", r->body_in);
    jkey_u64(&o, "body_out", r->body_out);
    jkey_u64(&o, "chunks_in", r->chunks_in);
    jkey_u64(&o, "chunks_out", r->chunks_out);
    jkey_str(&o, "reason", r->reason);
    jraw(&o, "}\n");
    return o.full ? -ENOSPC : (int)o.n;
}

/* --- the sink ------------------------------------------------------------------ */

/* A file (no reader can hold it back the way a pipe can hold the log) is
 * written at once; this bounds only an accounting_file that is a FIFO. */
#define STOP_FLUSH_MS 10000

static struct gw_sink sink = GW_SINK_INIT;
_Static_assert(GW_ACCT_LINE_MAX <= GW_SINK_LINE_MAX, "a record is one write of the sink");
static atomic_bool enabled;
static bool syslog_open;

int gw_acct_start(const char *file, bool use_syslog)
{
    if ((!file || !file[0]) && !use_syslog)
        return 0;
    if (use_syslog) {
        openlog("msrpgw", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        syslog_open = true;
    }
    struct gw_sink_config cfg = {
        .name = "accounting",
        .unit = "accounting records",
        .ring_bytes = GW_ACCT_QUEUE_BYTES,
        .fd = -1,
        .path = file,
        .to_syslog = use_syslog,
    };
    int rc = gw_sink_start(&sink, &cfg);
    if (rc < 0) {
        gw_acct_stop();
        return rc;
    }
    atomic_store(&enabled, true);
    return 0;
}

bool gw_acct_enabled(void) { return atomic_load_explicit(&enabled, memory_order_relaxed); }

void gw_acct_put(const struct gw_acct_record *r)
{
    if (!gw_acct_enabled())
        return;
    char line[GW_ACCT_LINE_MAX];
    int n = gw_acct_format(line, sizeof(line), r);
    if (n < 0 || !gw_sink_put(&sink, line, (size_t)n))
        gw_sink_lost(&sink, 1);
}

void gw_acct_reopen(void)
{
    gw_sink_reopen(&sink);
}

void gw_acct_stop(void)
{
    atomic_store(&enabled, false);
    gw_sink_stop(&sink, STOP_FLUSH_MS);
    if (syslog_open)
        closelog();
    syslog_open = false;
}

uint64_t gw_acct_dropped(void)
{
    return gw_sink_dropped(&sink);
}
