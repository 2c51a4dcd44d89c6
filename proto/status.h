/*
 * status.h: the reason phrases msrpgw sends with MSRP status codes.
 *
 * RFC 4975 section 7.2 makes the comment after a status code optional and
 * free text; one table keeps our phrases the same wherever a code means
 * what the RFC says of it. A response that tells the peer something more
 * specific (why a From-Path was refused, that a peer is not connected)
 * passes its own phrase instead -- those are deliberate, and visible at
 * their call.
 */
#ifndef MSRP_STATUS_H
#define MSRP_STATUS_H

/* The default phrase for code (RFC 4975 section 10.2 and RFC 4976), or
 * NULL for a code we do not send on our own. */
const char *msrp_status_phrase(unsigned code);

#endif
