/*
 * runtime.c: one thread per loop. Each thread creates its own loop (with
 * SINGLE_ISSUER the ring belongs to its creator), runs the program's init,
 * reports readiness, then runs until stopped.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "uring/log.h"
#include "uring/runtime.h"
#include "uring/tls.h"

struct rt_thread {
    struct ur_runtime *rt;
    unsigned idx;
    pthread_t tid;
    struct ur_loop *loop;
    int started;
    int init_rc;
    int run_rc;
};

struct ur_runtime {
    struct ur_runtime_config cfg;
    unsigned n;
    struct rt_thread *th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned ready;
    int abort;   /* a sibling failed init: don't run */
};

static void *thread_main(void *arg)
{
    struct rt_thread *t = arg;
    struct ur_runtime *rt = t->rt;
    int rc, go;

    if (rt->cfg.pin_cpus) {
        cpu_set_t set;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        CPU_ZERO(&set);
        CPU_SET(t->idx % (unsigned)(ncpu > 0 ? ncpu : 1), &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    rc = ur_loop_new(&t->loop, &rt->cfg.loop);
    if (rc == 0 && rt->cfg.init)
        rc = rt->cfg.init(t->loop, t->idx, rt->cfg.ud);
    pthread_mutex_lock(&rt->mu);
    t->init_rc = rc;
    rt->ready++;
    pthread_cond_broadcast(&rt->cv);
    /* Wait for the verdict on all siblings before running. */
    while (rt->ready < rt->n && !rt->abort)
        pthread_cond_wait(&rt->cv, &rt->mu);
    for (unsigned i = 0; i < rt->n; i++)
        if (rt->th[i].init_rc)
            rt->abort = 1;
    go = !rt->abort;
    pthread_mutex_unlock(&rt->mu);
    if (go)
        t->run_rc = ur_loop_run(t->loop);
    if (t->loop && rt->cfg.fini && rc == 0)
        rt->cfg.fini(t->loop, t->idx, rt->cfg.ud);
    /* wolfSSL keeps per-thread ECC state that only this thread can free;
     * fini has released the program's TLS connections by now. */
    ur_tls_thread_cleanup();
    /* The loop is freed at join: siblings may still post to it. */
    return NULL;
}

int ur_runtime_start(struct ur_runtime **out, const struct ur_runtime_config *cfg)
{
    struct ur_runtime *rt;
    int rc = 0;

    *out = NULL;
    rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    rt->cfg = *cfg;
    rt->n = cfg->threads;
    if (!rt->n) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        rt->n = ncpu > 0 ? (unsigned)ncpu : 1;
    }
    rt->th = calloc(rt->n, sizeof(*rt->th));
    if (!rt->th) {
        free(rt);
        return -ENOMEM;
    }
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->cv, NULL);
    for (unsigned i = 0; i < rt->n; i++) {
        rt->th[i].rt = rt;
        rt->th[i].idx = i;
        if (pthread_create(&rt->th[i].tid, NULL, thread_main, &rt->th[i]) != 0) {
            pthread_mutex_lock(&rt->mu);
            rt->abort = 1;
            rt->n = i; /* only these exist */
            pthread_cond_broadcast(&rt->cv);
            pthread_mutex_unlock(&rt->mu);
            rc = -EAGAIN;
            break;
        }
        rt->th[i].started = 1;
    }
    pthread_mutex_lock(&rt->mu);
    while (rt->ready < rt->n)
        pthread_cond_wait(&rt->cv, &rt->mu);
    for (unsigned i = 0; i < rt->n && !rc; i++)
        rc = rt->th[i].init_rc;
    if (rc)
        rt->abort = 1;
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
    if (rc) {
        ur_log(UR_LOG_ERROR, "runtime start failed: %d", rc);
        ur_runtime_join(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

unsigned ur_runtime_count(const struct ur_runtime *rt) { return rt->n; }

struct ur_loop *ur_runtime_loop(const struct ur_runtime *rt, unsigned idx)
{
    return idx < rt->n ? rt->th[idx].loop : NULL;
}

void ur_runtime_stop(struct ur_runtime *rt)
{
    for (unsigned i = 0; i < rt->n; i++)
        if (rt->th[i].loop)
            ur_loop_post(rt->th[i].loop, ur_loop_stop_cb, NULL);
}

int ur_runtime_join(struct ur_runtime *rt)
{
    int rc = 0;

    for (unsigned i = 0; i < rt->n; i++)
        if (rt->th[i].started)
            pthread_join(rt->th[i].tid, NULL);
    for (unsigned i = 0; i < rt->n; i++) {
        if (!rc && rt->th[i].run_rc)
            rc = rt->th[i].run_rc;
        /* Freed here, not on their threads, so late posts between loops
         * never hit freed memory; ring teardown is thread-agnostic. */
        ur_loop_free(rt->th[i].loop);
    }
    pthread_mutex_destroy(&rt->mu);
    pthread_cond_destroy(&rt->cv);
    free(rt->th);
    free(rt);
    return rc;
}
