/*
 * runtime.h: N threads, each running one ur_loop (one per core by default).
 * The program supplies a per-loop init callback (create listeners, per-core
 * tables) run on the loop's own thread before its loop starts, and an
 * optional fini callback run there after the loop stopped.
 */
#ifndef UR_RUNTIME_H
#define UR_RUNTIME_H

#include "uring/loop.h"

struct ur_runtime;

struct ur_runtime_config {
    unsigned threads;              /* 0 = number of online CPUs */
    struct ur_loop_config loop;    /* per-loop config (zeroed fields = defaults) */
    int pin_cpus;                  /* nonzero: pin thread i to CPU i % ncpu */
    /* Runs on loop idx's thread before ur_loop_run(); nonzero return makes
     * ur_runtime_start() fail with that code (after stopping the others). */
    int (*init)(struct ur_loop *loop, unsigned idx, void *ud);
    /* Runs on loop idx's thread after ur_loop_run() returned. */
    void (*fini)(struct ur_loop *loop, unsigned idx, void *ud);
    void *ud;
};

/*
 * Starts the threads, and returns once every loop exists and its init ran,
 * so ur_runtime_loop() is valid right away. 0 or -errno / init's error.
 */
int ur_runtime_start(struct ur_runtime **out, const struct ur_runtime_config *cfg);

unsigned ur_runtime_count(const struct ur_runtime *rt);
struct ur_loop *ur_runtime_loop(const struct ur_runtime *rt, unsigned idx);

/* Asks every loop to stop (a cross-core post; any thread). */
void ur_runtime_stop(struct ur_runtime *rt);

/* Waits for every thread, frees the loops and rt. Returns the first nonzero
 * ur_loop_run() result, else 0. Not from a loop thread of rt. */
int ur_runtime_join(struct ur_runtime *rt);

#endif
