/*
 * tls.c: wolfSSL glue. wolfSSL never touches the socket: its receive
 * callback reads from the ciphertext slice the ring just delivered, and its
 * send callback copies each record into a send-queue segment. Plaintext is
 * decrypted into a heap ur_buf and handed to on_data exactly like plain TCP
 * bytes (the callback may keep it with ur_buf_ref).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#ifdef HAVE_ECC
#include <wolfssl/wolfcrypt/ecc.h>
#endif

#include "uring/conn_internal.h"

struct ur_tls_ctx {
    WOLFSSL_CTX *ctx;
    int server;
    int insecure;
};

struct ur_tls_conn {
    WOLFSSL *ssl;
    const uint8_t *in;   /* ciphertext not yet consumed by wolfSSL */
    size_t in_n;
    int hs_done;
    int server;
    struct ur_buf *pbuf; /* plaintext buffer */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void tls_global_init(void) { wolfSSL_Init(); }

/* wolfSSL errors that mean "the peer's certificate is not acceptable". */
static const int verify_errors[] = {
    ASN_NO_SIGNER_E, ASN_SELF_SIGNED_E, ASN_AFTER_DATE_E, ASN_BEFORE_DATE_E,
    ASN_SIG_CONFIRM_E, DOMAIN_NAME_MISMATCH, IPADDR_MISMATCH, VERIFY_CERT_ERROR,
};

static int map_error(struct ur_conn *c, int e)
{
    char msg[96];

    wolfSSL_ERR_error_string_n((unsigned long)e, msg, sizeof(msg));
    ur_log(UR_LOG_INFO, "tls fd %d: %s (%d)", c->fd, msg, e);
    for (size_t i = 0; i < sizeof(verify_errors) / sizeof(verify_errors[0]); i++)
        if (e == verify_errors[i])
            return -EKEYREJECTED;
    return -EPROTO;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    struct ur_conn *c = ctx;
    struct ur_tls_conn *t = c->tls;
    size_t n;

    (void)ssl;
    if (t->in_n == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    n = t->in_n < (size_t)sz ? t->in_n : (size_t)sz;
    memcpy(buf, t->in, n);
    t->in += n;
    t->in_n -= n;
    return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    struct ur_conn *c = ctx;
    struct ur_seg *s;
    void *copy;

    (void)ssl;
    if (c->flags & CF_CLOSING)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    copy = malloc((size_t)sz);
    s = copy ? ur_seg_new(c) : NULL;
    if (!s) {
        free(copy);
        return WOLFSSL_CBIO_ERR_GENERAL;
    }
    memcpy(copy, buf, (size_t)sz);
    s->p = copy;
    s->n = (size_t)sz;
    s->owned = copy;
    ur_conn_wire_append(c, s);
    ur_conn_defer(c);
    return sz;
}

static int check_file(const char *path)
{
    if (!path)
        return -EINVAL;
    return access(path, R_OK) == 0 ? 0 : -errno;
}

int ur_tls_ctx_new(struct ur_tls_ctx **out, const struct ur_tls_config *cfg)
{
    struct ur_tls_ctx *t;
    int rc = 0;

    *out = NULL;
    pthread_once(&init_once, tls_global_init);
    if (cfg->server && ((rc = check_file(cfg->cert_file)) < 0 ||
                        (rc = check_file(cfg->key_file)) < 0))
        return rc;
    if (cfg->ca_file && (rc = check_file(cfg->ca_file)) < 0)
        return rc;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->server = cfg->server;
    t->insecure = cfg->insecure;
    t->ctx = wolfSSL_CTX_new(cfg->server ? wolfSSLv23_server_method() : wolfSSLv23_client_method());
    if (!t->ctx) {
        free(t);
        return -ENOMEM;
    }
    if (cfg->cert_file &&
        wolfSSL_CTX_use_certificate_chain_file(t->ctx, cfg->cert_file) != WOLFSSL_SUCCESS)
        rc = -EINVAL;
    if (!rc && cfg->key_file &&
        wolfSSL_CTX_use_PrivateKey_file(t->ctx, cfg->key_file, WOLFSSL_FILETYPE_PEM) !=
            WOLFSSL_SUCCESS)
        rc = -EINVAL;
    if (!rc && cfg->ca_file &&
        wolfSSL_CTX_load_verify_locations(t->ctx, cfg->ca_file, NULL) != WOLFSSL_SUCCESS)
        rc = -EINVAL;
    if (!rc && wolfSSL_CTX_set_cipher_list(t->ctx, cfg->cipher_list ? cfg->cipher_list
                                                                    : UR_TLS_DEFAULT_CIPHERS) !=
                   WOLFSSL_SUCCESS) {
        ur_log(UR_LOG_ERROR, "tls: no usable cipher in list \"%s\"",
               cfg->cipher_list ? cfg->cipher_list : UR_TLS_DEFAULT_CIPHERS);
        wolfSSL_CTX_free(t->ctx);
        free(t);
        return -EINVAL;
    }
    if (rc) {
        ur_log(UR_LOG_ERROR, "tls: cannot load certificate, key or CA file");
        wolfSSL_CTX_free(t->ctx);
        free(t);
        return rc;
    }
    if (cfg->server || cfg->insecure)
        wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_NONE, NULL);
    else
        wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER, NULL);
    wolfSSL_CTX_SetIORecv(t->ctx, io_recv);
    wolfSSL_CTX_SetIOSend(t->ctx, io_send);
    *out = t;
    return 0;
}

void ur_tls_ctx_free(struct ur_tls_ctx *ctx)
{
    if (!ctx)
        return;
    wolfSSL_CTX_free(ctx->ctx);
    free(ctx);
}

int ur_tls_conn_new(struct ur_conn *c, struct ur_tls_ctx *ctx, const char *server_name)
{
    struct ur_tls_conn *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->ssl = wolfSSL_new(ctx->ctx);
    if (!t->ssl) {
        free(t);
        return -ENOMEM;
    }
    t->server = ctx->server;
    wolfSSL_SetIOReadCtx(t->ssl, c);
    wolfSSL_SetIOWriteCtx(t->ssl, c);
    if (server_name && *server_name && !ctx->server) {
        wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, server_name,
                       (unsigned short)strlen(server_name));
        if (!ctx->insecure)
            wolfSSL_check_domain_name(t->ssl, server_name);
    }
    c->tls = t;
    return 0;
}

void ur_tls_conn_destroy(struct ur_tls_conn *t)
{
    if (!t)
        return;
    wolfSSL_free(t->ssl);
    ur_buf_unref(t->pbuf);
    free(t);
}

void ur_tls_conn_free(struct ur_conn *c)
{
    ur_tls_conn_destroy(c->tls);
    c->tls = NULL;
}

/* The plaintext buffer belongs to this loop: it stays behind. */
struct ur_tls_conn *ur_tls_conn_take(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;

    c->tls = NULL;
    if (!t)
        return NULL;
    ur_buf_unref(t->pbuf);
    t->pbuf = NULL;
    wolfSSL_SetIOReadCtx(t->ssl, NULL);
    wolfSSL_SetIOWriteCtx(t->ssl, NULL);
    return t;
}

void ur_tls_conn_give(struct ur_conn *c, struct ur_tls_conn *t)
{
    c->tls = t;
    wolfSSL_SetIOReadCtx(t->ssl, c);
    wolfSSL_SetIOWriteCtx(t->ssl, c);
}

int ur_tls_ready(const struct ur_conn *c) { return c->tls && c->tls->hs_done; }

const char *ur_conn_tls_cipher(const struct ur_conn *c)
{
    if (!ur_tls_ready(c))
        return NULL;
    return wolfSSL_get_cipher_name(c->tls->ssl);
}

void ur_tls_thread_cleanup(void)
{
#if defined(HAVE_ECC) && defined(FP_ECC)
    wc_ecc_fp_free();
#endif
}

/* Encrypts one application segment into ciphertext segments; the segment
 * itself follows them as an empty marker that completes (callback,
 * bytes_out) once the ciphertext before it has been sent. */
static void encrypt_seg(struct ur_conn *c, struct ur_seg *s)
{
    struct ur_tls_conn *t = c->tls;
    size_t off = 0;

    while (off < s->n) {
        size_t len = s->n - off > (1u << 30) ? (1u << 30) : s->n - off;
        int r = wolfSSL_write(t->ssl, s->p + off, (int)len);
        if (r <= 0) {
            /* Failed later with -ECANCELED at close, never from inside send. */
            s->next = NULL;
            if (c->app_tail)
                c->app_tail->next = s;
            else
                c->app_head = s;
            c->app_tail = s;
            ur_conn_fail(c, map_error(c, wolfSSL_get_error(t->ssl, r)));
            return;
        }
        off += (size_t)r;
    }
    ur_buf_unref(s->buf);
    s->buf = NULL;
    free(s->owned);
    s->owned = NULL;
    s->p = NULL;
    s->n = s->off = 0;
    ur_conn_wire_append(c, s);
}

void ur_tls_send(struct ur_conn *c, struct ur_seg *s)
{
    if (c->tls->hs_done && !c->app_head) {
        encrypt_seg(c, s);
        return;
    }
    s->next = NULL;
    if (c->app_tail)
        c->app_tail->next = s;
    else
        c->app_head = s;
    c->app_tail = s;
    c->pending += s->n;
}

static void handshake(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;
    int r = t->server ? wolfSSL_accept(t->ssl) : wolfSSL_connect(t->ssl);
    int e;

    ur_conn_defer(c); /* flush whatever the handshake queued */
    if (r == WOLFSSL_SUCCESS) {
        t->hs_done = 1;
        while (c->app_head && !(c->flags & CF_CLOSING)) {
            struct ur_seg *s = c->app_head;
            c->app_head = s->next;
            if (!c->app_head)
                c->app_tail = NULL;
            c->pending -= s->n;
            encrypt_seg(c, s);
        }
        if (!(c->flags & CF_CLOSING))
            ur_conn_notify_open(c, 0);
        return;
    }
    e = wolfSSL_get_error(t->ssl, r);
    if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE)
        ur_conn_fail(c, map_error(c, e));
}

void ur_tls_start(struct ur_conn *c) { handshake(c); }

void ur_tls_shutdown(struct ur_conn *c)
{
    if (c->tls->hs_done)
        wolfSSL_shutdown(c->tls->ssl);
}

size_t ur_tls_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    struct ur_tls_conn *t = c->tls;
    struct ur_loop *loop = c->loop;
    size_t used;

    (void)buf;
    t->in = p;
    t->in_n = n;
    if (!t->hs_done)
        handshake(c);
    while (t->hs_done && !c->pause_cnt && !(c->flags & CF_CLOSING)) {
        int r, e;

        if (t->pbuf && t->pbuf->refs > 1) { /* on_data kept the last one */
            ur_buf_unref(t->pbuf);
            t->pbuf = NULL;
        }
        if (!t->pbuf && !(t->pbuf = ur_buf_heap_new(loop, loop->cfg.buf_size))) {
            ur_conn_fail(c, -ENOMEM);
            break;
        }
        r = wolfSSL_read(t->ssl, t->pbuf->data, (int)t->pbuf->cap);
        if (r > 0) {
            ur_conn_deliver_plain(c, t->pbuf, t->pbuf->data, (size_t)r);
            continue;
        }
        e = wolfSSL_get_error(t->ssl, r);
        if (e == WOLFSSL_ERROR_ZERO_RETURN)
            ur_conn_fail(c, 0);
        else if (e != WOLFSSL_ERROR_WANT_READ)
            ur_conn_fail(c, map_error(c, e));
        break;
    }
    if (t->hs_done && c->pause_cnt)
        c->flags |= CF_TLS_PUMP; /* wolfSSL may hold decrypted records */
    used = n - t->in_n;
    t->in = NULL;
    t->in_n = 0;
    return used;
}
