/*
 * buf.h: receive buffers. Received bytes are handed to on_data as a
 * (pointer, length) slice of a struct ur_buf. By default the buffer goes
 * back to the loop's provided-buffer ring as soon as on_data returns. A
 * callback that wants to keep the bytes (the relay forwarding a body to
 * another connection with zero copy) takes a reference with ur_buf_ref()
 * and drops it with ur_buf_unref() -- typically by passing the buffer to
 * ur_conn_send(), which holds its own reference until the send completes.
 *
 * Buffers belong to the loop that received them: ref/unref only on that
 * loop's thread. A buffer held forever starves the ring (receives then wait
 * for buffers, counted in ur_loop_stats.enobufs): hold them only as long as
 * a send is in flight.
 */
#ifndef UR_BUF_H
#define UR_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ur_buf;

struct ur_buf *ur_buf_ref(struct ur_buf *buf);   /* returns buf */
void ur_buf_unref(struct ur_buf *buf);           /* NULL is ignored */

/* Start and capacity of the whole buffer (the on_data slice lies inside). */
uint8_t *ur_buf_data(const struct ur_buf *buf);
size_t ur_buf_capacity(const struct ur_buf *buf);

#endif
