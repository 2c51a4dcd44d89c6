/*
 * log_sink.c: the log's process-wide sink, one struct gw_sink (sink.h)
 * whose drop reports are lines of the log itself.
 */
#include <errno.h>

#include "gateway/obs/log.h"
#include "gateway/obs/log_sink.h"
#include "gateway/obs/sink.h"

static struct gw_sink sink = GW_SINK_INIT;
_Static_assert(GW_LOG_LINE_MAX <= GW_SINK_LINE_MAX, "a log line is one write of the sink");

int gw_log_sink_start(int (*fd_fn)(void))
{
    struct gw_sink_config cfg = {
        .name = "log",
        .unit = "log lines",
        .ring_bytes = GW_LOG_SINK_BYTES,
        .fd = fd_fn(),
        .reports_to_self = true,
    };
    int rc = gw_sink_start(&sink, &cfg);
    return rc == -EBUSY ? 0 : rc; /* already running: nothing to do */
}

void gw_log_sink_stop(unsigned flush_ms)
{
    gw_sink_stop(&sink, flush_ms);
}

bool gw_log_sink_put(const char *line, size_t n)
{
    return gw_sink_put(&sink, line, n);
}

uint64_t gw_log_sink_dropped(void)
{
    return gw_sink_dropped(&sink);
}
