/*
 * api_session.c: libmsrpgw's public session API (msrpgw/session.h) over
 * the endpoint session layer (gateway/session/session.h, endpoint.h) and the
 * uring/ runtime.
 *
 * The public handles are the internal objects under other names
 * (msrpgw_loop is a ur_loop, msrpgw_session a gw_session, msrpgw_message
 * a gw_msg_in, ...): the public header only declares them, so nothing of
 * their layout leaks, and no second object has to be kept in step. The
 * one thing added is a small record per session (struct api_sess, the
 * internal session's user data) holding the caller's handlers and data,
 * freed after the caller's on_close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/session/endpoint.h"
#include "gateway/lib/lib.h"
#include "gateway/session/session.h"
#include "uring/loop.h"
#include "uring/tls.h"

#define IN_LOOP(x) ((struct ur_loop *)(x))
#define IN_TLS(x) ((struct ur_tls_ctx *)(x))
#define IN_SV(x) ((struct gw_server *)(x))
#define IN_S(x) ((struct gw_session *)(x))
#define IN_MSG(x) ((struct gw_msg_in *)(x))
#define IN_OUT(x) ((struct gw_msg_out *)(x))
#define PUB_S(x) ((struct msrpgw_session *)(x))
#define PUB_MSG(x) ((struct msrpgw_message *)(x))
#define PUB_OUT(x) ((struct msrpgw_outgoing *)(x))

/* ---- loop and TLS ---- */

MSRPGW_API int msrpgw_loop_new(struct msrpgw_loop **out)
{
    struct ur_loop *l;
    int rc = ur_loop_new(&l, NULL);
    if (rc == 0)
        *out = (struct msrpgw_loop *)l;
    return rc;
}

MSRPGW_API int msrpgw_loop_run(struct msrpgw_loop *loop)
{
    return ur_loop_run(IN_LOOP(loop));
}

MSRPGW_API void msrpgw_loop_stop(struct msrpgw_loop *loop)
{
    ur_loop_stop(IN_LOOP(loop));
}

MSRPGW_API void msrpgw_loop_free(struct msrpgw_loop *loop)
{
    ur_loop_free(IN_LOOP(loop));
    ur_tls_thread_cleanup(); /* this thread ran the loop: its TLS caches */
}

static int tls_new(struct msrpgw_tls **out, const struct ur_tls_config *c)
{
    struct ur_tls_ctx *t;
    int rc = ur_tls_ctx_new(&t, c);
    if (rc == 0)
        *out = (struct msrpgw_tls *)t;
    return rc;
}

MSRPGW_API int msrpgw_tls_client_new(struct msrpgw_tls **out, const char *ca_file, int insecure)
{
    if (!ca_file && !insecure)
        return -EINVAL;
    struct ur_tls_config c = { .ca_file = ca_file, .insecure = insecure != 0 };
    return tls_new(out, &c);
}

MSRPGW_API int msrpgw_tls_server_new(struct msrpgw_tls **out, const char *cert_file,
                                     const char *key_file)
{
    if (!cert_file || !key_file)
        return -EINVAL;
    struct ur_tls_config c = { .server = 1, .cert_file = cert_file, .key_file = key_file };
    return tls_new(out, &c);
}

MSRPGW_API void msrpgw_tls_free(struct msrpgw_tls *t)
{
    ur_tls_ctx_free(IN_TLS(t));
}

/* ---- options ---- */

#define ACCEPT_TYPES_MAX 1024

struct msrpgw_session_opts {
    struct gw_session_config c;
    char accept_types[ACCEPT_TYPES_MAX];
};

MSRPGW_API int msrpgw_session_opts_new(struct msrpgw_session_opts **out)
{
    struct msrpgw_session_opts *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    gw_session_config_default(&o->c);
    *out = o;
    return 0;
}

MSRPGW_API void msrpgw_session_opts_free(struct msrpgw_session_opts *o)
{
    free(o);
}

MSRPGW_API int msrpgw_session_opts_chunk_size(struct msrpgw_session_opts *o, uint32_t bytes)
{
    if (bytes == 0 || bytes > (64u << 20))
        return -EINVAL;
    o->c.chunk_size = bytes;
    return 0;
}

MSRPGW_API int msrpgw_session_opts_window(struct msrpgw_session_opts *o, uint32_t chunks)
{
    if (chunks == 0 || chunks > 65536)
        return -EINVAL;
    o->c.window = chunks;
    return 0;
}

MSRPGW_API int msrpgw_session_opts_response_timeout(struct msrpgw_session_opts *o, uint32_t ms)
{
    if (ms == 0)
        return -EINVAL;
    o->c.response_timeout_ms = ms;
    return 0;
}

MSRPGW_API int msrpgw_session_opts_bind_timeout(struct msrpgw_session_opts *o, uint32_t ms)
{
    if (ms == 0)
        return -EINVAL;
    o->c.bind_timeout_ms = ms;
    return 0;
}

MSRPGW_API int msrpgw_session_opts_accept_types(struct msrpgw_session_opts *o,
                                                const char *types)
{
    if (!types) {
        o->accept_types[0] = '\0';
        o->c.accept_types = NULL;
        return 0;
    }
    if (strlen(types) >= sizeof(o->accept_types))
        return -EINVAL;
    strcpy(o->accept_types, types);
    o->c.accept_types = o->accept_types;
    return 0;
}

MSRPGW_API int msrpgw_session_opts_failure_report(struct msrpgw_session_opts *o,
                                                  const char *value)
{
    static const struct {
        const char *name;
        enum msrp_report r;
    } values[] = {
        {"yes", MSRP_REPORT_YES}, {"no", MSRP_REPORT_NO}, {"partial", MSRP_REPORT_PARTIAL},
    };
    if (!value) {
        o->c.failure_report = MSRP_REPORT_ABSENT;
        return 0;
    }
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if (strcmp(value, values[i].name) == 0) {
            o->c.failure_report = values[i].r;
            return 0;
        }
    return -EINVAL;
}

MSRPGW_API int msrpgw_session_opts_success_report(struct msrpgw_session_opts *o, int on)
{
    o->c.success_report = on ? MSRP_REPORT_YES : MSRP_REPORT_ABSENT;
    return 0;
}

MSRPGW_API int msrpgw_session_opts_max_message_size(struct msrpgw_session_opts *o,
                                                    uint64_t bytes)
{
    o->c.max_message_size = bytes;
    return 0;
}

/* ---- relay ---- */

#define RELAY_TEXT_MAX 256

struct msrpgw_relay {
    char host[RELAY_TEXT_MAX];
    char user[RELAY_TEXT_MAX];
    char password[RELAY_TEXT_MAX];
    uint16_t port;
    bool has_user;
    struct ur_tls_ctx *tls;
};

MSRPGW_API int msrpgw_relay_new(struct msrpgw_relay **out, const char *host, uint16_t port,
                                const char *user, const char *password)
{
    if (!host || !*host || strlen(host) >= RELAY_TEXT_MAX ||
        (user && strlen(user) >= RELAY_TEXT_MAX) ||
        (password && strlen(password) >= RELAY_TEXT_MAX))
        return -EINVAL;
    struct msrpgw_relay *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    strcpy(r->host, host);
    r->port = port ? port : 2855;
    if (user) {
        r->has_user = true;
        strcpy(r->user, user);
        strcpy(r->password, password ? password : "");
    }
    *out = r;
    return 0;
}

MSRPGW_API int msrpgw_relay_set_tls(struct msrpgw_relay *r, struct msrpgw_tls *tls)
{
    r->tls = IN_TLS(tls);
    return 0;
}

MSRPGW_API void msrpgw_relay_free(struct msrpgw_relay *r)
{
    free(r);
}

static void relay_settings(const struct msrpgw_relay *r, struct gw_relay_settings *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->host = r->host;
    rs->port = r->port;
    rs->tls = r->tls;
    if (r->has_user) {
        rs->username = r->user;
        rs->password = r->password;
    }
}

/* ---- handlers: the internal callbacks forward to the caller's ---- */

struct api_sess {
    struct msrpgw_session_handlers h;
    void *ud;
};

static struct api_sess *sess_of(const struct gw_session *s)
{
    return gw_session_data(s);
}

static void fwd_ready(struct gw_session *s, int err)
{
    struct api_sess *a = sess_of(s);
    if (a->h.on_ready)
        a->h.on_ready(PUB_S(s), err, a->ud);
}

static int fwd_message_start(struct gw_session *s, struct gw_msg_in *m)
{
    struct api_sess *a = sess_of(s);
    return a->h.on_message_start ? a->h.on_message_start(PUB_S(s), PUB_MSG(m), a->ud) : 0;
}

static int fwd_data(struct gw_session *s, struct gw_msg_in *m, const char *p, size_t n,
                    uint64_t pos, struct ur_buf *buf)
{
    (void)buf; /* the public contract is "copy before returning" */
    struct api_sess *a = sess_of(s);
    if (!a->h.on_data)
        return 0;
    return a->h.on_data(PUB_S(s), PUB_MSG(m), p, n, pos, a->ud) == MSRPGW_STALL
               ? GW_MCONN_STALL
               : 0;
}

static void fwd_message_end(struct gw_session *s, struct gw_msg_in *m, int status)
{
    struct api_sess *a = sess_of(s);
    if (a->h.on_message_end)
        a->h.on_message_end(PUB_S(s), PUB_MSG(m), status, a->ud);
}

static void fwd_report(struct gw_session *s, struct msrp_slice message_id, uint16_t code,
                       const struct msrp_byte_range *br, const struct msrp_head *h)
{
    (void)br;
    (void)h;
    struct api_sess *a = sess_of(s);
    char id[GW_MSGID_MAX + 1];
    size_t n = message_id.n < GW_MSGID_MAX ? message_id.n : GW_MSGID_MAX;
    if (!a->h.on_report)
        return;
    memcpy(id, message_id.p, n);
    id[n] = '\0';
    a->h.on_report(PUB_S(s), id, code, a->ud);
}

static void fwd_close(struct gw_session *s, int err)
{
    struct api_sess *a = sess_of(s);
    if (a->h.on_close)
        a->h.on_close(PUB_S(s), err, a->ud);
    free(a);
}

static const struct gw_session_ops fwd_ops = {
    .on_ready = fwd_ready,
    .on_message_start = fwd_message_start,
    .on_data = fwd_data,
    .on_message_end = fwd_message_end,
    .on_report = fwd_report,
    .on_close = fwd_close,
};

static struct api_sess *sess_new(const struct msrpgw_session_handlers *h, void *ud)
{
    struct api_sess *a = calloc(1, sizeof(*a));
    if (a) {
        if (h)
            a->h = *h;
        a->ud = ud;
    }
    return a;
}

static const struct gw_session_config *cfg_of(const struct msrpgw_session_opts *o)
{
    return o ? &o->c : NULL;
}

/* Frees a when the session was not made (no on_close will come). */
static int sess_made(int rc, struct api_sess *a, struct gw_session *s,
                     struct msrpgw_session **out)
{
    if (rc < 0) {
        free(a);
        return rc;
    }
    *out = PUB_S(s);
    return 0;
}

/* ---- sessions ---- */

MSRPGW_API int msrpgw_server_new(struct msrpgw_loop *loop, const char *host, uint16_t port,
                                 const char *uri_host, struct msrpgw_tls *tls,
                                 struct msrpgw_server **out)
{
    struct gw_server *sv;
    int rc = gw_server_new(IN_LOOP(loop), host, port, uri_host, IN_TLS(tls), NULL, 30000, &sv);
    if (rc == 0)
        *out = (struct msrpgw_server *)sv;
    return rc;
}

MSRPGW_API uint16_t msrpgw_server_port(const struct msrpgw_server *sv)
{
    return gw_server_port((const struct gw_server *)sv);
}

MSRPGW_API void msrpgw_server_free(struct msrpgw_server *sv)
{
    gw_server_free(IN_SV(sv));
}

MSRPGW_API int msrpgw_session_connect(struct msrpgw_loop *loop,
                                      const struct msrpgw_session_opts *opts,
                                      const struct msrpgw_session_handlers *handlers, void *ud,
                                      const char *remote_path, struct msrpgw_tls *tls,
                                      const struct msrpgw_relay *relay,
                                      struct msrpgw_session **out)
{
    if (!remote_path)
        return -EINVAL;
    struct api_sess *a = sess_new(handlers, ud);
    if (!a)
        return -ENOMEM;
    struct gw_relay_settings rs;
    if (relay)
        relay_settings(relay, &rs);
    struct gw_session *s = NULL;
    int rc = gw_session_connect(IN_LOOP(loop), cfg_of(opts), &fwd_ops, a, NULL, remote_path,
                                IN_TLS(tls), relay ? &rs : NULL, &s);
    return sess_made(rc, a, s, out);
}

MSRPGW_API int msrpgw_session_accept(struct msrpgw_server *sv,
                                     const struct msrpgw_session_opts *opts,
                                     const struct msrpgw_session_handlers *handlers, void *ud,
                                     const char *remote_path, struct msrpgw_session **out)
{
    struct api_sess *a = sess_new(handlers, ud);
    if (!a)
        return -ENOMEM;
    struct gw_session *s = NULL;
    int rc = gw_session_accept(IN_SV(sv), cfg_of(opts), &fwd_ops, a, remote_path, &s);
    return sess_made(rc, a, s, out);
}

MSRPGW_API int msrpgw_session_relay_accept(struct msrpgw_loop *loop,
                                           const struct msrpgw_session_opts *opts,
                                           const struct msrpgw_session_handlers *handlers,
                                           void *ud, const struct msrpgw_relay *relay,
                                           struct msrpgw_session **out)
{
    if (!relay)
        return -EINVAL;
    struct api_sess *a = sess_new(handlers, ud);
    if (!a)
        return -ENOMEM;
    struct gw_relay_settings rs;
    relay_settings(relay, &rs);
    struct gw_session *s = NULL;
    int rc = gw_session_relay_accept(IN_LOOP(loop), cfg_of(opts), &fwd_ops, a, NULL, &rs, &s);
    return sess_made(rc, a, s, out);
}

/* ---- outgoing messages ---- */

/* The caller's completion, carried through the internal one. */
struct api_sent {
    msrpgw_sent_fn done;
    void *arg;
};

static void fwd_sent(struct gw_session *s, struct gw_msg_out *m, int code, void *arg)
{
    struct api_sent c = *(struct api_sent *)arg;
    free(arg);
    if (c.done)
        c.done(PUB_S(s), PUB_OUT(m), code, c.arg);
}

static struct api_sent *sent_new(msrpgw_sent_fn done, void *arg)
{
    struct api_sent *c = malloc(sizeof(*c));
    if (c) {
        c->done = done;
        c->arg = arg;
    }
    return c;
}

MSRPGW_API int msrpgw_session_send_file(struct msrpgw_session *s, const char *path,
                                        const char *content_type, msrpgw_sent_fn done,
                                        void *arg, struct msrpgw_outgoing **out)
{
    struct stat st;
    if (!path)
        return -EINVAL;
    if (stat(path, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    struct api_sent *c = sent_new(done, arg);
    if (!c)
        return -ENOMEM;
    struct gw_send_opts o = { .content_type = content_type };
    struct gw_msg_out *m = NULL;
    int rc = gw_session_send_file(IN_S(s), -1, path, (uint64_t)st.st_size, &o, fwd_sent, c, &m);
    if (rc < 0) {
        free(c);
        return rc;
    }
    if (out)
        *out = PUB_OUT(m);
    return 0;
}

MSRPGW_API int msrpgw_session_send_mem(struct msrpgw_session *s, const void *p, size_t n,
                                       const char *content_type, msrpgw_sent_fn done,
                                       void *arg, struct msrpgw_outgoing **out)
{
    struct api_sent *c = sent_new(done, arg);
    if (!c)
        return -ENOMEM;
    struct gw_send_opts o = { .content_type = content_type };
    struct gw_msg_out *m = NULL;
    int rc = gw_session_send_mem(IN_S(s), p, n, &o, fwd_sent, c, &m);
    if (rc < 0) {
        free(c);
        return rc;
    }
    if (out)
        *out = PUB_OUT(m);
    return 0;
}

MSRPGW_API int msrpgw_session_abort(struct msrpgw_session *s, struct msrpgw_outgoing *m)
{
    return gw_session_abort_message(IN_S(s), IN_OUT(m));
}

MSRPGW_API const char *msrpgw_outgoing_message_id(const struct msrpgw_outgoing *m)
{
    return gw_msg_out_id((const struct gw_msg_out *)m);
}

MSRPGW_API uint64_t msrpgw_outgoing_sent(const struct msrpgw_outgoing *m)
{
    return gw_msg_out_sent((const struct gw_msg_out *)m);
}

/* ---- session control and accessors ---- */

MSRPGW_API void msrpgw_session_resume(struct msrpgw_session *s)
{
    gw_session_resume(IN_S(s));
}

MSRPGW_API void msrpgw_session_shutdown(struct msrpgw_session *s, int drain)
{
    gw_session_shutdown(IN_S(s), drain != 0);
}

MSRPGW_API const char *msrpgw_session_local_path(const struct msrpgw_session *s)
{
    return gw_session_local_path((const struct gw_session *)s);
}

MSRPGW_API const char *msrpgw_session_local_uri(const struct msrpgw_session *s)
{
    return gw_session_local_uri((const struct gw_session *)s);
}

MSRPGW_API const char *msrpgw_session_remote_path(const struct msrpgw_session *s)
{
    return gw_session_remote_path((const struct gw_session *)s);
}

MSRPGW_API int msrpgw_session_set_remote_path(struct msrpgw_session *s, const char *path)
{
    return gw_session_set_remote_path(IN_S(s), path);
}

MSRPGW_API int msrpgw_session_last_code(const struct msrpgw_session *s)
{
    return gw_session_last_code((const struct gw_session *)s);
}

MSRPGW_API unsigned msrpgw_session_queued(const struct msrpgw_session *s)
{
    return gw_session_queued((const struct gw_session *)s);
}

MSRPGW_API void *msrpgw_session_user_data(const struct msrpgw_session *s)
{
    return sess_of((const struct gw_session *)s)->ud;
}

/* ---- incoming messages ---- */

MSRPGW_API const char *msrpgw_message_id(const struct msrpgw_message *m)
{
    return ((const struct gw_msg_in *)m)->message_id;
}

MSRPGW_API const char *msrpgw_message_content_type(const struct msrpgw_message *m)
{
    return ((const struct gw_msg_in *)m)->content_type;
}

MSRPGW_API uint64_t msrpgw_message_total(const struct msrpgw_message *m)
{
    return ((const struct gw_msg_in *)m)->total;
}

MSRPGW_API uint64_t msrpgw_message_received(const struct msrpgw_message *m)
{
    return ((const struct gw_msg_in *)m)->received;
}

MSRPGW_API void msrpgw_message_set_data(struct msrpgw_message *m, void *data)
{
    IN_MSG(m)->ud = data;
}

MSRPGW_API void *msrpgw_message_data(const struct msrpgw_message *m)
{
    return ((const struct gw_msg_in *)m)->ud;
}

/* ---- version ---- */

MSRPGW_API const char *msrpgw_version(void)
{
    return MSRPGW_VERSION_STRING;
}
