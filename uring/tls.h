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
};

/* 0 or -errno: -ENOENT / -EINVAL for unreadable or bad PEM files, -ENOMEM. */
int ur_tls_ctx_new(struct ur_tls_ctx **out, const struct ur_tls_config *cfg);
void ur_tls_ctx_free(struct ur_tls_ctx *ctx);

#endif
