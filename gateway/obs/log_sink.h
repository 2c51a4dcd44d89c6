/*
 * log_sink.h: log lines leave the loop threads without blocking them.
 *
 * Once started, gw_log's formatted lines go through the log's sink, a
 * struct gw_sink (sink.h: a bounded ring of GW_LOG_SINK_BYTES and a writer
 * thread draining it into the log's descriptor). A slow sink (a full
 * pipe, a stalled disk, a blocked terminal) blocks only the writer: when
 * the ring is full a line is dropped and counted, and once the writer
 * catches up it writes "N log lines dropped (log sink too slow)" into the
 * log itself (after a failed write: only once a write has worked again).
 *
 * Before gw_log_sink_start() and after gw_log_sink_stop(), gw_log writes
 * synchronously (start-up errors, tests, the tools).
 */
#ifndef GW_LOG_SINK_H
#define GW_LOG_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_LOG_SINK_BYTES (1u << 20)

/* Starts the writer thread on the descriptor fd_fn gives now (gw_log_fd:
 * gw_log_reopen dup2()s the new file over that same number). 0 (also when
 * it runs already) or -errno. */
int gw_log_sink_start(int (*fd_fn)(void));

/* Flushes what the ring holds (giving up after flush_ms when the sink
 * does not take it: those lines are counted as dropped) and joins the
 * writer. No-op when not started. */
void gw_log_sink_stop(unsigned flush_ms);

/* Queues one line (n bytes, ending in '\n'). False when the sink is not
 * running: the caller writes the line itself. True otherwise, also when
 * the line was dropped for lack of room (counted). */
bool gw_log_sink_put(const char *line, size_t n);

/* Lines dropped since the process started. */
uint64_t gw_log_sink_dropped(void);

#endif
