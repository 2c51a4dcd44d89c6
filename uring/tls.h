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

#include <stddef.h>

struct ur_tls_ctx;

struct ur_tls_config {
    int server;              /* nonzero: accept side (cert_file and key_file required) */
    const char *cert_file;   /* PEM certificate (chain) */
    const char *key_file;    /* PEM private key */
    const char *ca_file;     /* PEM CAs to verify the peer; NULL = none loaded */
    /* Client side: verification is ON unless insecure is set (tests only).
     * Server side: client certificates are not requested. */
    int insecure;
    /* wolfSSL cipher list, most preferred first; NULL = ur_tls_default_ciphers().
     * The server picks by its own order, so its list decides when both
     * sides are ours. */
    const char *cipher_list;
};

/* Cipher policy: TLS 1.3 and 1.2 only, AEAD suites only. Which AEAD comes
 * first is decided once at start-up from the CPU and the linked wolfSSL
 * (ur_tls_default_ciphers): AES-GCM where the CPU has AES-NI + PCLMULQDQ
 * and the library was built to use them (about 3.5 GB/s per core, 2x
 * ChaCha20), ChaCha20-Poly1305 otherwise (Debian's libwolfssl has no
 * AES-NI: ChaCha20 is 2.7x its AES-GCM, see PEERS.md). The other AEAD stays
 * for peers that offer nothing else. tls_ciphers overrides both. */
#define UR_TLS_CIPHERS_AES_FIRST                                                       \
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:" \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define UR_TLS_CIPHERS_CHACHA_FIRST                                                    \
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                   \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

/* 1 when AES-GCM is the fast AEAD here: the CPU has AES-NI and PCLMULQDQ
 * and the linked wolfSSL has its AES-NI path compiled in. */
int ur_tls_aes_fast(void);
/* The cipher list used when ur_tls_config.cipher_list is NULL. */
const char *ur_tls_default_ciphers(void);
/* One line naming the linked wolfSSL (system or built from source, its
 * version), the crypto paths compiled in and the default AEAD, e.g. for
 * --version. Returns buf. */
const char *ur_tls_describe(char *buf, size_t n);
/* 1 when server connections that negotiate TLS 1.3 with AES-GCM have their
 * records protected by msrpgw itself after the handshake (uring/tls_rec.h):
 * the linked wolfSSL gives the traffic secrets and MSRP_TLS_RECORDS is not
 * "wolfssl". */
int ur_tls_own_records(void);

/* 0 or -errno: -ENOENT / -EINVAL for unreadable or bad PEM files, -ENOMEM.
 * The new context holds one reference, the caller's. */
int ur_tls_ctx_new(struct ur_tls_ctx **out, const struct ur_tls_config *cfg);
/* Contexts are reference counted (from any thread): every connection made
 * with one holds a reference until it is freed, so the creator may drop
 * its own (ur_tls_ctx_free) while connections still use the context --
 * e.g. one replaced by a reload -- and it is freed with the last of them.
 * A thread that only has the pointer from shared state must take its
 * reference (e.g. create the connection) before the owner can drop its. */
struct ur_tls_ctx *ur_tls_ctx_ref(struct ur_tls_ctx *ctx);
/* Drops one reference (NULL: no-op); the last one frees the context. */
void ur_tls_ctx_free(struct ur_tls_ctx *ctx);
/* References held now (tests). */
unsigned ur_tls_ctx_refs(const struct ur_tls_ctx *ctx);

struct ur_conn;
/* Negotiated cipher suite name (wolfSSL spelling) once the handshake is
 * done; NULL for plain connections or before the handshake completes. */
const char *ur_conn_tls_cipher(const struct ur_conn *c);
/* 1 when the handshake resumed an earlier session (a TLS 1.3 ticket or a
 * TLS 1.2 session): client contexts keep the last session per server name
 * and offer it when they connect to that name again. 0 otherwise. */
int ur_conn_tls_resumed(const struct ur_conn *c);
/* 1 when this connection's records are protected by msrpgw itself
 * (ur_tls_own_records). */
int ur_conn_tls_own_records(const struct ur_conn *c);

/* Frees this thread's wolfSSL per-thread state (the FP_ECC fixed-point
 * cache that every thread doing ECC handshakes builds, ~MBs). Loop threads
 * of ur_runtime call it themselves at exit; a program that runs a loop on
 * its own thread (ur_loop_new + ur_loop_run, e.g. msrpcat) must call it
 * before that thread exits, after its last TLS connection is gone. */
void ur_tls_thread_cleanup(void);

#endif
