/*
 * tls.c: wolfSSL glue. wolfSSL never touches the socket: its receive
 * callback reads from the ciphertext slice the ring just delivered, and its
 * send callback copies each record into a send-queue segment. Plaintext sent
 * is staged into full 16 KiB records until the end of the loop turn (see
 * encrypt_seg). Plaintext received is decrypted, every complete record in a
 * row, into a heap ur_buf and handed to on_data exactly like plain TCP
 * bytes (the callback may keep it with ur_buf_ref).
 *
 * Once a TLS 1.3 handshake with AES-GCM is done on a server connection,
 * and the library gives the traffic secrets (tls_rec.h), records are
 * protected here instead: opened in place in the receive buffer and
 * delivered from it; sent plaintext stays in the sends' own buffers until a
 * record's worth is queued (or the turn ends) and is sealed from them
 * straight into a record buffer of the loop's cache, which is sent as it
 * is. wolfSSL then handles no record of that connection again (its
 * sequence numbers would be stale).
 * MSRP_TLS_RECORDS=wolfssl in the environment keeps wolfSSL's record layer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#ifdef HAVE_ECC
#include <wolfssl/wolfcrypt/ecc.h>
#endif

#include "uring/conn_internal.h"
#include "uring/tls_rec.h"

/* Client side: the last session per server name, offered again on the next
 * connection to that name (resumption). Small and shared by the loops. */
#define TLS_SESS_MAX 64
struct tls_sess {
    char name[128];
    WOLFSSL_SESSION *s;
};

struct ur_tls_ctx {
    /* The creator's reference plus one per connection (struct
     * ur_tls_conn, which moves with a handed-off connection): a context
     * replaced by a reload lives until its last connection is gone. */
    atomic_uint refs;
    WOLFSSL_CTX *ctx;
    int server;
    int insecure;
    pthread_mutex_t sess_lock;
    unsigned sess_next;          /* round-robin victim when full */
    struct tls_sess sess[TLS_SESS_MAX];
};

struct ur_tls_conn {
    WOLFSSL *ssl;
    struct ur_tls_ctx *ctx;
    char *name;          /* client: server name its session is kept under */
    int sess_saved;
    const uint8_t *in;   /* ciphertext not yet consumed by wolfSSL */
    size_t in_n;
    int hs_done;
    int server;
    struct ur_buf *pbuf; /* plaintext buffer */
    size_t pbuf_used;    /* our record layer: bytes of it in use */
    /* Plaintext gathered into the next record: sends of one loop turn
     * (a response, a chunk header, the body slices after it) leave as full
     * records instead of one short record each; encrypted when full or at
     * the end of the turn (ur_tls_flush). stage_head..tail: the sends
     * whose last bytes wait in it, completed behind its ciphertext. */
    uint8_t *stage;      /* TLS_RECORD_MAX bytes once first used */
    size_t stage_n;
    struct ur_seg *stage_head, *stage_tail;
    size_t stage_off;    /* our record layer: bytes of stage_head sealed */
    /* Our own record layer (tls_rec.h), once it took over: rx holds a
     * record that arrived across two receive buffers. */
    struct ur_tls_rec *rec;
    uint8_t *rx;
    size_t rx_n;
#ifdef UR_TLS_REC
    uint8_t sec[2][UR_TLS_REC_SECRET_MAX]; /* client, server traffic secret */
    int sec_n[2];
#endif
};

/* Largest TLS plaintext fragment (RFC 8446 5.1, RFC 5246 6.2.1). */
#define TLS_RECORD_MAX 16384u
#define RX_SIZE (5u + 16384u + 256u)

static int rec_off; /* MSRP_TLS_RECORDS=wolfssl */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void tls_global_init(void)
{
    const char *e = getenv("MSRP_TLS_RECORDS");

    wolfSSL_Init();
    rec_off = e && strcmp(e, "wolfssl") == 0;
}

int ur_tls_own_records(void)
{
#ifdef UR_TLS_REC
    pthread_once(&init_once, tls_global_init);
    return !rec_off;
#else
    return 0;
#endif
}

/* ---- cipher policy ---- */

static int cpu_aesni(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & bit_AES) && (c & bit_PCLMUL);
#else
    return 0;
#endif
}

static int cpu_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b & bit_AVX2) != 0;
#else
    return 0;
#endif
}

int ur_tls_aes_fast(void)
{
#ifdef WOLFSSL_AESNI
    return cpu_aesni();
#else
    return 0;
#endif
}

const char *ur_tls_default_ciphers(void)
{
    static const char *list;
    if (!list) /* the same answer from every thread: a benign race */
        list = ur_tls_aes_fast() ? UR_TLS_CIPHERS_AES_FIRST : UR_TLS_CIPHERS_CHACHA_FIRST;
    return list;
}

const char *ur_tls_describe(char *buf, size_t n)
{
#ifdef MSRP_WOLFSSL_BUILT
    const char *origin = "built from Debian source, static";
#else
    const char *origin = "system library";
#endif
#ifdef WOLFSSL_AESNI
    const char *aesni = "yes";
#else
    const char *aesni = "no";
#endif
#ifdef USE_INTEL_SPEEDUP
    const char *asm_ = "yes";
#else
    const char *asm_ = "no";
#endif
#ifdef USE_INTEL_CHACHA_SPEEDUP
    const char *chacha = "yes";
#else
    const char *chacha = "no";
#endif
    snprintf(buf, n,
             "wolfSSL %s (%s); compiled in: AES-NI %s, intel asm (AVX1/AVX2 AES-GCM, SHA) %s, "
             "ChaCha20-Poly1305 asm %s; CPU: AES-NI %s, AVX2 %s; default AEAD: %s; "
             "TLS 1.3 AES-GCM records (server side): %s",
             wolfSSL_lib_version(), origin, aesni, asm_, chacha, cpu_aesni() ? "yes" : "no",
             cpu_avx2() ? "yes" : "no", ur_tls_aes_fast() ? "AES-GCM" : "ChaCha20-Poly1305",
             ur_tls_own_records() ? "msrpgw, in place" : "wolfSSL");
    return buf;
}

/* ---- client session cache ---- */

static void sess_save(struct ur_tls_conn *t)
{
    struct ur_tls_ctx *x = t->ctx;
    WOLFSSL_SESSION *s, *live;
    struct tls_sess *slot = NULL;

    if (t->sess_saved || t->server || !t->name)
        return;
    if (wolfSSL_session_reused(t->ssl) == 1) {
        /* Its ticket carries the session id of the ticket it resumed, and
         * wolfSSL's server finds the secret by that id, which the next
         * resumption of the same lineage overwrites: offering it fails the
         * binder now and then. Only tickets of full handshakes are kept. */
        t->sess_saved = 1;
        return;
    }
    live = wolfSSL_get_session(t->ssl);
    if (!live)
        return;
    if (!wolfSSL_SESSION_has_ticket(live) && wolfSSL_version(t->ssl) == TLS1_3_VERSION)
        return; /* TLS 1.3: nothing to resume before the ticket */
    /* A copy: the connection's own session keeps changing while it lives,
     * and other loops offer the kept one concurrently. */
    s = wolfSSL_SESSION_dup(live);
    if (!s)
        return;
    t->sess_saved = 1;
    pthread_mutex_lock(&x->sess_lock);
    for (unsigned i = 0; i < TLS_SESS_MAX && !slot; i++)
        if (x->sess[i].s && strcmp(x->sess[i].name, t->name) == 0)
            slot = &x->sess[i];
    for (unsigned i = 0; i < TLS_SESS_MAX && !slot; i++)
        if (!x->sess[i].s)
            slot = &x->sess[i];
    if (!slot)
        slot = &x->sess[x->sess_next++ % TLS_SESS_MAX];
    if (slot->s)
        wolfSSL_SESSION_free(slot->s);
    snprintf(slot->name, sizeof(slot->name), "%s", t->name);
    slot->s = s;
    pthread_mutex_unlock(&x->sess_lock);
}

static void sess_offer(struct ur_tls_conn *t)
{
    struct ur_tls_ctx *x = t->ctx;

    WOLFSSL_SESSION *s = NULL;

    /* Taken, not shared: a TLS 1.3 ticket is for one resumption (RFC 8446
     * C.4), and wolfSSL's server keys its cache by the ticket's session id,
     * so two connections resuming one ticket at once break each other's
     * binder. Connections started meanwhile do full handshakes, and every
     * connection keeps the ticket it gets. */
    pthread_mutex_lock(&x->sess_lock);
    for (unsigned i = 0; i < TLS_SESS_MAX; i++)
        if (x->sess[i].s && strcmp(x->sess[i].name, t->name) == 0) {
            s = x->sess[i].s;
            x->sess[i].s = NULL;
            break;
        }
    pthread_mutex_unlock(&x->sess_lock);
    if (s) {
        wolfSSL_set_session(t->ssl, s); /* copies it */
        wolfSSL_SESSION_free(s);
    }
}

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

/* Record buffers: one size (the longest record, RX_SIZE), cached by the
 * loop up to REC_CACHE_MAX (about 1 MiB) -- a malloc of more than 16 KiB
 * is a large allocation for jemalloc, with page faults when it comes
 * back. Records sealed by our layer and records wolfSSL writes use them. */
#define REC_BUF_SIZE RX_SIZE
#define REC_CACHE_MAX 64u

void ur_tls_loop_free(struct ur_loop *loop)
{
    ur_bufcache_free(&loop->tls_bufs);
}

static uint8_t *rec_buf_get(struct ur_loop *loop)
{
    if (!loop->tls_bufs.max)
        ur_bufcache_init(&loop->tls_bufs, REC_BUF_SIZE, REC_CACHE_MAX);
    return ur_bufcache_get(&loop->tls_bufs);
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    struct ur_conn *c = ctx;
    struct ur_seg *s;
    void *copy;
    bool cached;

    (void)ssl;
    if (c->flags & CF_CLOSING)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    /* One record (a handshake flight may be several): a cached buffer. */
    cached = (size_t)sz <= REC_BUF_SIZE;
    copy = cached ? rec_buf_get(c->loop) : malloc((size_t)sz);
    s = copy ? ur_seg_new(c) : NULL;
    if (!s) {
        free(copy);
        return WOLFSSL_CBIO_ERR_GENERAL;
    }
    memcpy(copy, buf, (size_t)sz);
    s->p = copy;
    s->n = (size_t)sz;
    s->owned = copy;
    s->owned_cache = cached ? &c->loop->tls_bufs : NULL; /* back there once sent */
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
    atomic_init(&t->refs, 1);
    t->server = cfg->server;
    t->insecure = cfg->insecure;
    pthread_mutex_init(&t->sess_lock, NULL);
    t->ctx = wolfSSL_CTX_new(cfg->server ? wolfSSLv23_server_method() : wolfSSLv23_client_method());
    if (!t->ctx) {
        pthread_mutex_destroy(&t->sess_lock);
        free(t);
        return -ENOMEM;
    }
    /* TLS 1.2 and 1.3 only. */
    if (wolfSSL_CTX_SetMinVersion(t->ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        rc = -EINVAL;
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
                                                                    : ur_tls_default_ciphers()) !=
                   WOLFSSL_SUCCESS) {
        ur_log(UR_LOG_ERROR, "tls: no usable cipher in list \"%s\"",
               cfg->cipher_list ? cfg->cipher_list : ur_tls_default_ciphers());
        wolfSSL_CTX_free(t->ctx);
        pthread_mutex_destroy(&t->sess_lock);
        free(t);
        return -EINVAL;
    }
    if (rc) {
        ur_log(UR_LOG_ERROR, "tls: cannot load certificate, key or CA file");
        wolfSSL_CTX_free(t->ctx);
        pthread_mutex_destroy(&t->sess_lock);
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

struct ur_tls_ctx *ur_tls_ctx_ref(struct ur_tls_ctx *ctx)
{
    if (ctx)
        atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

unsigned ur_tls_ctx_refs(const struct ur_tls_ctx *ctx)
{
    return atomic_load_explicit(&ctx->refs, memory_order_relaxed);
}

void ur_tls_ctx_free(struct ur_tls_ctx *ctx)
{
    if (!ctx)
        return;
    /* acq_rel: every use by the other holders happens before the free. */
    if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < TLS_SESS_MAX; i++)
        if (ctx->sess[i].s)
            wolfSSL_SESSION_free(ctx->sess[i].s);
    pthread_mutex_destroy(&ctx->sess_lock);
    wolfSSL_CTX_free(ctx->ctx);
    free(ctx);
}

#ifdef UR_TLS_REC
static void sec_wipe(struct ur_tls_conn *t)
{
    explicit_bzero(t->sec[0], sizeof(t->sec[0]));
    explicit_bzero(t->sec[1], sizeof(t->sec[1]));
    t->sec_n[0] = t->sec_n[1] = 0;
}

/* wolfSSL gives each TLS 1.3 secret as it derives it: the application
 * traffic secrets are kept until the handshake is done (rec_take_over). */
static int secret_cb(WOLFSSL *ssl, int id, const unsigned char *secret, int n, void *ctx)
{
    struct ur_tls_conn *t = ctx;
    int i = id == CLIENT_TRAFFIC_SECRET ? 0 : id == SERVER_TRAFFIC_SECRET ? 1 : -1;

    (void)ssl;
    if (i < 0 || n <= 0 || (size_t)n > UR_TLS_REC_SECRET_MAX)
        return 0;
    memcpy(t->sec[i], secret, (size_t)n);
    t->sec_n[i] = n;
    return 0;
}
#endif

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
    t->ctx = ur_tls_ctx_ref(ctx);
#ifdef UR_TLS_REC
    if (ctx->server && ur_tls_own_records())
        wolfSSL_set_tls13_secret_cb(t->ssl, secret_cb, t);
#endif
    wolfSSL_SetIOReadCtx(t->ssl, c);
    wolfSSL_SetIOWriteCtx(t->ssl, c);
    if (server_name && *server_name && !ctx->server) {
        wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, server_name,
                       (unsigned short)strlen(server_name));
        if (!ctx->insecure)
            wolfSSL_check_domain_name(t->ssl, server_name);
    }
#ifdef HAVE_SESSION_TICKET
    if (!ctx->server)
        wolfSSL_UseSessionTicket(t->ssl); /* TLS 1.2 tickets; 1.3 has them anyway */
#endif
    if (!ctx->server && server_name && *server_name)
        t->name = strdup(server_name); /* the session key is completed at start */
    c->tls = t;
    return 0;
}

void ur_tls_conn_destroy(struct ur_tls_conn *t)
{
    if (!t)
        return;
    wolfSSL_free(t->ssl);
    ur_tls_rec_free(t->rec);
    free(t->rx);
#ifdef UR_TLS_REC
    sec_wipe(t);
#endif
    ur_buf_unref(t->pbuf);
    free(t->stage); /* its segments were failed with the queues */
    free(t->name);
    ur_tls_ctx_free(t->ctx); /* after the WOLFSSL that uses it */
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

int ur_conn_tls_own_records(const struct ur_conn *c) { return c->tls && c->tls->rec; }

int ur_conn_tls_resumed(const struct ur_conn *c)
{
    return ur_tls_ready(c) && wolfSSL_session_reused(c->tls->ssl) == 1;
}

void ur_tls_thread_cleanup(void)
{
#if defined(HAVE_ECC) && defined(FP_ECC)
    wc_ecc_fp_free();
#endif
}

/* Encrypts n plaintext bytes: records of TLS_RECORD_MAX, the last one
 * shorter when n is not a multiple. 0, or -1 once the connection failed. */
static int tls_write(struct ur_conn *c, const uint8_t *p, size_t n)
{
    struct ur_tls_conn *t = c->tls;

    while (n) {
        int len = n > (1u << 30) ? (1 << 30) : (int)n;
        int r = wolfSSL_write(t->ssl, p, len);
        if (r <= 0) {
            /* Failed later with -ECANCELED at close, never from inside send. */
            ur_conn_fail(c, map_error(c, wolfSSL_get_error(t->ssl, r)));
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void stage_park(struct ur_tls_conn *t, struct ur_seg *s)
{
    s->next = NULL;
    if (t->stage_tail)
        t->stage_tail->next = s;
    else
        t->stage_head = s;
    t->stage_tail = s;
}

static int stage_flush(struct ur_conn *c);

/* The segment's bytes are encrypted (or it failed): it becomes an empty
 * marker that completes (callback, bytes_out) once it is sent. */
static void seg_to_marker(struct ur_seg *s)
{
    ur_buf_unref(s->buf);
    s->buf = NULL;
    ur_seg_drop_owned(s);
    s->p = NULL;
    s->n = s->off = 0;
}

#ifdef UR_TLS_REC

/* Our record layer gathers: the queued sends keep their bytes (stage_head
 * .. stage_tail, stage_n bytes from stage_off into the first) and a record
 * is sealed from them straight into its own buffer, which is then sent as
 * it is: no plaintext copy. Seals the first len queued bytes as one
 * record; the sends it used up follow it as markers. 0, or -1 once the
 * connection failed. */
static int rec_seal_queued(struct ur_conn *c, size_t len)
{
    struct ur_tls_conn *t = c->tls;
    uint8_t *rec = rec_buf_get(c->loop);
    struct ur_seg *out = rec ? ur_seg_new(c) : NULL, *used = NULL, **used_tail = &used;
    size_t done = 0, n = 0;
    int e;

    if (!out) {
        free(rec);
        ur_conn_fail(c, -ENOMEM);
        return -1;
    }
    out->owned = rec; /* back to the loop's cache once sent */
    out->owned_cache = &c->loop->tls_bufs;
    e = ur_tls_rec_seal_begin(t->rec, rec, len);
    while (!e && done < len) {
        struct ur_seg *q = t->stage_head;
        size_t k = q->n - t->stage_off < len - done ? q->n - t->stage_off : len - done;

        e = ur_tls_rec_seal_more(t->rec, rec + UR_TLS_REC_HDR + done, q->p + t->stage_off, k);
        done += k;
        t->stage_off += k;
        if (t->stage_off == q->n) { /* used up: it follows the record */
            t->stage_head = q->next;
            if (!t->stage_head)
                t->stage_tail = NULL;
            t->stage_off = 0;
            seg_to_marker(q);
            q->next = NULL;
            *used_tail = q;
            used_tail = &q->next;
        }
    }
    if (!e)
        n = ur_tls_rec_seal_end(t->rec, rec, len, UR_TLS_CT_APP);
    t->stage_n -= len;
    c->pending -= len;
    if (!n) { /* a wolfCrypt failure, or 2^64 records: never */
        ur_seg_finish(c, out, -ECANCELED); /* its buffer goes back to the cache */
        while (used) {
            struct ur_seg *q = used;
            used = q->next;
            ur_seg_finish(c, q, -ECANCELED);
        }
        ur_conn_fail(c, -EPROTO);
        return -1;
    }
    out->p = rec;
    out->n = n;
    ur_conn_wire_append(c, out);
    while (used) {
        struct ur_seg *q = used;
        used = q->next;
        ur_conn_wire_append(c, q);
    }
    ur_conn_defer(c);
    return 0;
}

/* Everything queued, as full records and one shorter last one; sends with
 * no bytes left go behind them. */
static int rec_flush(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;

    while (t->stage_n)
        if (rec_seal_queued(c, t->stage_n < TLS_RECORD_MAX ? t->stage_n : TLS_RECORD_MAX) < 0)
            return -1;
    while (t->stage_head) { /* empty sends */
        struct ur_seg *s = t->stage_head;
        t->stage_head = s->next;
        if (!t->stage_head)
            t->stage_tail = NULL;
        seg_to_marker(s);
        ur_conn_wire_append(c, s);
    }
    t->stage_off = 0;
    return 0;
}

/* One send: queued; each full record's worth is sealed at once. */
static void rec_queue(struct ur_conn *c, struct ur_seg *s)
{
    struct ur_tls_conn *t = c->tls;

    stage_park(t, s);
    t->stage_n += s->n;
    c->pending += s->n;
    while (t->stage_n >= TLS_RECORD_MAX)
        if (rec_seal_queued(c, TLS_RECORD_MAX) < 0)
            return;
}

/* A record of our own (an alert, a KeyUpdate) after what is queued. */
static int rec_send_small(struct ur_conn *c, int type, const uint8_t *p, size_t n)
{
    uint8_t *rec = malloc(UR_TLS_REC_HDR + n + UR_TLS_REC_TAIL);
    struct ur_seg *s = rec ? ur_seg_new(c) : NULL;
    size_t len;

    if (!s) {
        free(rec);
        ur_conn_fail(c, -ENOMEM);
        return -1;
    }
    if (rec_flush(c) < 0) {
        free(rec);
        ur_seg_finish(c, s, -ECANCELED);
        return -1;
    }
    memcpy(rec + UR_TLS_REC_HDR, p, n);
    if (!(len = ur_tls_rec_seal(c->tls->rec, rec, n, type))) {
        free(rec);
        ur_seg_finish(c, s, -ECANCELED);
        ur_conn_fail(c, -EPROTO);
        return -1;
    }
    s->p = rec;
    s->n = len;
    s->owned = rec;
    ur_conn_wire_append(c, s);
    ur_conn_defer(c);
    return 0;
}
#endif

/* Encrypts the staged plaintext as one record and moves the sends that
 * waited for it behind its ciphertext. 0, or -1 once the connection failed. */
static int stage_flush(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;

#ifdef UR_TLS_REC
    if (t->rec)
        return rec_flush(c);
#endif
    if (t->stage_n) {
        size_t n = t->stage_n;
        c->pending -= n;
        t->stage_n = 0;
        if (tls_write(c, t->stage, n) < 0)
            return -1;
    }
    while (t->stage_head) {
        struct ur_seg *s = t->stage_head;
        t->stage_head = s->next;
        if (!t->stage_head)
            t->stage_tail = NULL;
        ur_conn_wire_append(c, s);
    }
    return 0;
}

static void stage_copy(struct ur_conn *c, const uint8_t *p, size_t n)
{
    struct ur_tls_conn *t = c->tls;

    memcpy(t->stage + t->stage_n, p, n);
    t->stage_n += n;
    c->pending += n;
}

/* Takes one application segment: its bytes top up the staged record, whole
 * records of it are encrypted straight from its buffer, its tail is staged.
 * The segment itself becomes an empty marker that completes (callback,
 * bytes_out) once the ciphertext of its last byte has been sent. */
static void encrypt_seg(struct ur_conn *c, struct ur_seg *s)
{
    struct ur_tls_conn *t = c->tls;
    const uint8_t *p = s->p;
    size_t n = s->n, k;

#ifdef UR_TLS_REC
    if (t->rec) {
        rec_queue(c, s);
        return;
    }
#endif
    if (!t->stage && !(t->stage = malloc(TLS_RECORD_MAX))) {
        stage_park(t, s);
        ur_conn_fail(c, -ENOMEM);
        return;
    }
    if (t->stage_n) {
        k = TLS_RECORD_MAX - t->stage_n < n ? TLS_RECORD_MAX - t->stage_n : n;
        stage_copy(c, p, k);
        p += k;
        n -= k;
        if (t->stage_n == TLS_RECORD_MAX && stage_flush(c) < 0) {
            stage_park(t, s);
            return;
        }
    }
    /* The stage is empty whenever bytes are left here. */
    k = n - n % TLS_RECORD_MAX;
    if (k && tls_write(c, p, k) < 0) {
        stage_park(t, s);
        return;
    }
    if (n > k)
        stage_copy(c, p + k, n - k);
    seg_to_marker(s);
    if (t->stage_n)
        stage_park(t, s);
    else
        ur_conn_wire_append(c, s);
}

void ur_tls_flush(struct ur_conn *c)
{
    if (c->tls && (c->tls->stage_n || c->tls->stage_head) && !(c->flags & CF_CLOSING))
        stage_flush(c);
}

void ur_tls_fail_staged(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;

    if (!t)
        return;
    t->stage_n = t->stage_off = 0;
    while (t->stage_head) {
        struct ur_seg *s = t->stage_head;
        t->stage_head = s->next;
        ur_seg_finish(c, s, -ECANCELED);
    }
    t->stage_tail = NULL;
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

#ifdef UR_TLS_REC
/* After a server handshake: our record layer takes over when the session is
 * TLS 1.3 with AES-GCM, both traffic secrets came, the keys derived from
 * them are wolfSSL's own, and wolfSSL holds no record of the peer's. */
static void rec_take_over(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;
    WOLFSSL *ssl = t->ssl;
    word64 rd_seq = 0, wr_seq = 0;
    struct ur_tls_rec *r = NULL;

    if (!t->server || !ur_tls_own_records() || wolfSSL_version(ssl) != TLS1_3_VERSION ||
        wolfSSL_GetBulkCipher(ssl) != wolfssl_aes_gcm || !t->sec_n[0] ||
        t->sec_n[0] != t->sec_n[1] || wolfSSL_pending(ssl) > 0)
        goto out;
    wolfSSL_GetPeerSequenceNumber(ssl, &rd_seq);
    wolfSSL_GetSequenceNumber(ssl, &wr_seq);
    if (ur_tls_rec_new(&r, (size_t)wolfSSL_GetKeySize(ssl), t->sec[0], t->sec[1],
                       (size_t)t->sec_n[0], rd_seq, wr_seq) < 0)
        goto out;
    if (!ur_tls_rec_is(r, 0, wolfSSL_GetClientWriteKey(ssl), wolfSSL_GetClientWriteIV(ssl)) ||
        !ur_tls_rec_is(r, 1, wolfSSL_GetServerWriteKey(ssl), wolfSSL_GetServerWriteIV(ssl))) {
        ur_log(UR_LOG_WARN, "tls fd %d: traffic keys differ from wolfSSL's: its record layer "
                            "stays", c->fd);
        ur_tls_rec_free(r);
        goto out;
    }
    t->rec = r;
out:
    sec_wipe(t);
}

static void rec_fail(struct ur_conn *c, int alert)
{
    ur_log(UR_LOG_INFO, "tls fd %d: record refused (alert %d), closing", c->fd, -alert);
    ur_conn_fail(c, -EPROTO);
}

/* A post-handshake message from a client (4.6): only KeyUpdate is valid
 * here (we ask for no client certificate), alone in its record (5.1: it
 * must end its record, and nothing else may come in one). */
static void rec_handshake(struct ur_conn *c, const uint8_t *p, size_t n)
{
    struct ur_tls_conn *t = c->tls;
    static const uint8_t update[5] = {24, 0, 0, 1, 0}; /* update_not_requested */

    if (n != 5 || p[0] != 24 || p[1] || p[2] || p[3] != 1) {
        rec_fail(c, -UR_TLS_ALERT_UNEXPECTED);
        return;
    }
    if (p[4] > 1) {
        rec_fail(c, -UR_TLS_ALERT_ILLEGAL);
        return;
    }
    if (ur_tls_rec_update(t->rec, 0) < 0) {
        rec_fail(c, -UR_TLS_ALERT_INTERNAL);
        return;
    }
    /* update_requested: ours goes before any more data, under the old key. */
    if (p[4] == 1 && (rec_send_small(c, UR_TLS_CT_HANDSHAKE, update, sizeof(update)) < 0 ||
                      ur_tls_rec_update(t->rec, 1) < 0))
        rec_fail(c, -UR_TLS_ALERT_INTERNAL);
}

/* One whole record at rec[0..n): opened into out (in place when out is
 * rec + 5) and handled; buf holds out, for on_data to keep. */
static void rec_one(struct ur_conn *c, struct ur_buf *buf, const uint8_t *rec, size_t n,
                    uint8_t *out)
{
    size_t pt_n;
    int type, e = ur_tls_rec_open(c->tls->rec, rec, n, out, &pt_n, &type);

    if (e < 0) {
        rec_fail(c, e);
        return;
    }
    if (type == UR_TLS_CT_APP) {
        if (pt_n)
            ur_conn_deliver_plain(c, buf, out, pt_n);
    } else if (type == UR_TLS_CT_ALERT) {
        if (pt_n != 2)
            rec_fail(c, -UR_TLS_ALERT_DECODE);
        else if (out[1] == UR_TLS_ALERT_CLOSE_NOTIFY)
            ur_conn_fail(c, 0); /* the peer's end of stream */
        else if (out[1] != 90) { /* user_canceled is followed by a close_notify */
            ur_log(UR_LOG_INFO, "tls fd %d: peer sent alert %u", c->fd, out[1]);
            ur_conn_fail(c, -EPROTO);
        }
    } else if (type == UR_TLS_CT_HANDSHAKE) {
        rec_handshake(c, out, pt_n);
    } else {
        rec_fail(c, -UR_TLS_ALERT_UNEXPECTED);
    }
}

/* The record gathered in rx is whole: opened into the plaintext buffer,
 * after the plaintext of the records before it (on_data may keep those), so
 * that one buffer serves several such records. */
static void rec_rx(struct ur_conn *c, size_t n)
{
    struct ur_tls_conn *t = c->tls;
    struct ur_buf *b = t->pbuf;
    size_t cap = c->loop->cfg.buf_size > RX_SIZE ? c->loop->cfg.buf_size : RX_SIZE;

    t->rx_n = 0;
    if (b && b->refs == 1)
        t->pbuf_used = 0; /* nobody kept any of it */
    /* Each record's plaintext starts 16-byte aligned. */
    t->pbuf_used = (t->pbuf_used + 15) & ~(size_t)15;
    if (b && (t->pbuf_used > b->cap || b->cap - t->pbuf_used < RX_SIZE)) {
        ur_buf_unref(b);
        t->pbuf = b = NULL;
    }
    if (!b) {
        if (!(t->pbuf = b = ur_buf_heap_new(c->loop, cap))) {
            ur_conn_fail(c, -ENOMEM);
            return;
        }
        t->pbuf_used = 0;
    }
    {
        uint8_t *out = b->data + t->pbuf_used;
        t->pbuf_used += n; /* at most the record; the exact length is known after */
        ur_buf_ref(b);     /* b stays while on_data runs, whatever t does */
        rec_one(c, b, t->rx, n, out);
        ur_buf_unref(b);
    }
}

/* Ciphertext in: whole records are opened where they lie, in the receive
 * buffer (ours: nothing else reads these bytes), and delivered from there;
 * a record cut by the end of the input is gathered in rx. Stops at a pause
 * between records; returns the bytes used. */
static size_t rec_input(struct ur_conn *c, struct ur_buf *buf, uint8_t *p, size_t n)
{
    struct ur_tls_conn *t = c->tls;
    size_t used = 0;

    while (!c->pause_cnt && !(c->flags & CF_CLOSING)) {
        size_t left = n - used, k;
        long want;

        if (!t->rx_n) {
            if (!left)
                break;
            if (left >= UR_TLS_REC_HDR) {
                if ((want = ur_tls_rec_length(p + used)) < 0) {
                    rec_fail(c, (int)want);
                    break;
                }
                if ((size_t)want <= left) { /* whole: opened where it lies */
                    rec_one(c, buf, p + used, (size_t)want, p + used + UR_TLS_REC_HDR);
                    used += (size_t)want;
                    continue;
                }
            }
        }
        /* Cut by the end of the input: gathered in rx (its header was
         * checked when it became whole). */
        if (!t->rx && !(t->rx = malloc(RX_SIZE))) {
            ur_conn_fail(c, -ENOMEM);
            break;
        }
        want = t->rx_n >= UR_TLS_REC_HDR ? ur_tls_rec_length(t->rx) : (long)UR_TLS_REC_HDR;
        k = (size_t)want - t->rx_n < left ? (size_t)want - t->rx_n : left;
        if (k)
            memcpy(t->rx + t->rx_n, p + used, k);
        t->rx_n += k;
        used += k;
        if (t->rx_n == UR_TLS_REC_HDR && (want = ur_tls_rec_length(t->rx)) < 0) {
            rec_fail(c, (int)want);
            break;
        }
        if (t->rx_n < (size_t)want) {
            if (used == n)
                break;
            continue; /* the header is whole now: gather the body */
        }
        rec_rx(c, t->rx_n);
    }
    return used;
}
#endif /* UR_TLS_REC */

static void handshake(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;
    int r = t->server ? wolfSSL_accept(t->ssl) : wolfSSL_connect(t->ssl);
    int e;

    ur_conn_defer(c); /* flush whatever the handshake queued */
    if (r == WOLFSSL_SUCCESS) {
        t->hs_done = 1;
#ifdef UR_TLS_REC
        rec_take_over(c);
#endif
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

/* Client: the connection is up. Its sessions are kept under the server
 * name, or "ip:port" when it has none: offer the last one for this server
 * (a ticket the server no longer takes costs only a full handshake). */
static void sess_key(struct ur_conn *c)
{
    struct ur_tls_conn *t = c->tls;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "", key[sizeof(((struct tls_sess *)0)->name)];
    unsigned port = 0;

    if (t->name) {
        sess_offer(t);
        return;
    }
    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
    } else {
        return;
    }
    snprintf(key, sizeof(key), "%s:%u", host, port);
    t->name = strdup(key);
    if (t->name)
        sess_offer(t);
}

void ur_tls_start(struct ur_conn *c)
{
    if (!c->tls->server)
        sess_key(c);
    handshake(c);
}

void ur_tls_shutdown(struct ur_conn *c)
{
    ur_tls_flush(c); /* the staged record goes before close_notify */
    if (!c->tls->hs_done || (c->flags & CF_CLOSING))
        return;
#ifdef UR_TLS_REC
    if (c->tls->rec) {
        static const uint8_t close_notify[2] = {1, UR_TLS_ALERT_CLOSE_NOTIFY};
        rec_send_small(c, UR_TLS_CT_ALERT, close_notify, sizeof(close_notify));
        return;
    }
#endif
    wolfSSL_shutdown(c->tls->ssl);
}

size_t ur_tls_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    struct ur_tls_conn *t = c->tls;
    struct ur_loop *loop = c->loop;
    size_t used;

    (void)buf;
#ifdef UR_TLS_REC
    if (t->rec) /* the bytes are a receive buffer's: opened in place */
        return rec_input(c, buf, (uint8_t *)(uintptr_t)p, n);
#endif
    t->in = p;
    t->in_n = n;
    if (!t->hs_done)
        handshake(c);
#ifdef UR_TLS_REC
    if (t->rec) { /* the handshake ended here: the rest is records */
        used = n - t->in_n;
        t->in = NULL;
        t->in_n = 0;
        return used + rec_input(c, buf, (uint8_t *)(uintptr_t)p + used, n - used);
    }
#endif
    while (t->hs_done && !c->pause_cnt && !(c->flags & CF_CLOSING)) {
        size_t fill;
        int r, e;

        if (t->pbuf && t->pbuf->refs > 1) { /* on_data kept the last one */
            ur_buf_unref(t->pbuf);
            t->pbuf = NULL;
        }
        if (!t->pbuf && !(t->pbuf = ur_buf_heap_new(loop, loop->cfg.buf_size))) {
            ur_conn_fail(c, -ENOMEM);
            break;
        }
        /* Every record already received, decrypted back to back into one
         * buffer (wolfSSL_read gives one record at a time): on_data gets
         * slices of up to buf_size like plain TCP, and a buffer a callback
         * keeps (a relayed body) is full, not a record in 64 KiB. */
        fill = 0;
        e = 0;
        while (fill < t->pbuf->cap) {
            r = wolfSSL_read(t->ssl, t->pbuf->data + fill, (int)(t->pbuf->cap - fill));
            if (r <= 0) {
                e = wolfSSL_get_error(t->ssl, r);
                break;
            }
            fill += (size_t)r;
        }
        if (fill)
            ur_conn_deliver_plain(c, t->pbuf, t->pbuf->data, fill);
        if (!e)
            continue; /* the buffer is full: more may wait */
        if (c->flags & CF_CLOSING)
            break;
        if (e == WOLFSSL_ERROR_ZERO_RETURN)
            ur_conn_fail(c, 0);
        else if (e != WOLFSSL_ERROR_WANT_READ)
            ur_conn_fail(c, map_error(c, e));
        break;
    }
    if (t->hs_done && c->pause_cnt)
        c->flags |= CF_TLS_PUMP; /* wolfSSL may hold decrypted records */
    if (t->hs_done && !t->sess_saved && !t->server && t->name)
        sess_save(t); /* TLS 1.3: once the server's ticket has been read */
    used = n - t->in_n;
    t->in = NULL;
    t->in_n = 0;
    return used;
}
