/*
 * log_sink.h: log lines leave the loop threads without blocking them.
 *
 * Once started, gw_log's formatted lines are copied into a bounded ring
 * (GW_LOG_SINK_BYTES) under a mutex held only for that copy, and a writer
 * thread drains the ring into the log's descriptor. A slow sink (a full
 * pipe, a stalled disk, a blocked terminal) blocks only the writer: when
 * the ring is full a line is dropped and counted, and once the writer
 * catches up it writes "N log lines dropped (log sink too slow)". The
 * writer waits for the descriptor with poll(2) and writes at most
 * PIPE_BUF bytes at a time, so it notices a stop request within 100 ms
 * even when the reader never reads.
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

/* Starts the writer thread; fd_fn gives the descriptor to write to at each
 * write (the log may be reopened meanwhile). 0 or -errno. */
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
