/*
 * tls.h: TLS contexts for msrps connections, through wolfSSL with custom I/O
 * callbacks so socket I/O stays on the ring: ciphertext received into ring
 * buffers is fed to wolfSSL, plaintext comes out through the ordinary
 * on_data callback, and wolfSSL's output joins the connection's send queue.
 * A context is shared (read-only) by all loops; create it before the loops
 * start. Connections are made TLS by passing a context to ur_conn_adopt()
 * or ur_conn_connect(); nothing else differs.
 */
#ifndef UR_TLS_H
#define UR_TLS_H

struct ur_tls_ctx;

struct ur_tls_config {
    int server;              /* nonzero: accept side (cert_file and key_file required) */
    const char *cert_file;   /* PEM certificate (chain) */
    const char *key_file;    /* PEM private key */
    const char *ca_file;     /* PEM CAs to verify the peer; NULL = none loaded */
    /* Client side: verification is ON unless insecure is set (tests only).
     * Server side: client certificates are not requested. */
    int insecure;
    /* wolfSSL cipher list, most preferred first; NULL = UR_TLS_DEFAULT_CIPHERS.
     * The server picks by its own order, so its list decides when both
     * sides are ours. */
    const char *cipher_list;
};

/* ChaCha20-Poly1305 first: without AES-NI (Debian's wolfSSL) it is about
 * 2.7x faster per core than AES-128-GCM (see PEERS.md); AES-GCM stays for
 * peers that offer nothing else. TLS 1.3 suites, then TLS 1.2 ECDHE. */
#define UR_TLS_DEFAULT_CIPHERS                                                       \
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                   \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

/* 0 or -errno: -ENOENT / -EINVAL for unreadable or bad PEM files, -ENOMEM. */
int ur_tls_ctx_new(struct ur_tls_ctx **out, const struct ur_tls_config *cfg);
void ur_tls_ctx_free(struct ur_tls_ctx *ctx);

struct ur_conn;
/* Negotiated cipher suite name (wolfSSL spelling) once the handshake is
 * done; NULL for plain connections or before the handshake completes. */
const char *ur_conn_tls_cipher(const struct ur_conn *c);

/* Frees this thread's wolfSSL per-thread state (the FP_ECC fixed-point
 * cache that every thread doing ECC handshakes builds, ~MBs). Loop threads
 * of ur_runtime call it themselves at exit; a program that runs a loop on
 * its own thread (ur_loop_new + ur_loop_run, e.g. msrpcat) must call it
 * before that thread exits, after its last TLS connection is gone. */
void ur_tls_thread_cleanup(void);

#endif
