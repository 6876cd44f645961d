// A persistent pool of worker threads for `mnl_parallel`. The caller is thread 0; workers are
// started on first use and live for the process. A region is handed to each worker it needs
// by bumping that worker's own `go` counter (workers a region does not use are left alone); a
// worker spins on its counter for ~100 µs after its last region (an epoch issues a few regions
// per batch, microseconds apart), then sleeps on a condition variable. The partition of the
// work is the task's business and depends only on (t, n), never on timing.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_THREADS 64
#define SPIN_NANOSECONDS 100000
// A waiter (the caller for its workers, a thread at a barrier) pauses this many times before
// yielding the CPU each round: on a busy machine the thread it waits for may need that core.
#define PAUSES_BEFORE_YIELD 2000

static void wait_pause(int *spins) {
    if (++*spins < PAUSES_BEFORE_YIELD) cpu_relax();
    else sched_yield();
}

static struct {
    pthread_mutex_t region_lock;  // one region at a time
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    struct {
        _Atomic unsigned go;
        char pad[60];  // one cache line per worker
    } slot[MAX_THREADS];
    _Atomic int sleepers;
    _Atomic int finished;
    mnl_task task;
    void *context;
    int n;
    int workers;  // started so far; worker w is thread w + 1
    _Atomic int barrier_count;
    _Atomic unsigned barrier_generation;
} pool = {
    .region_lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static _Atomic int default_threads;  // 0: not read yet

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg) {
    const int t = (int)(intptr_t)arg;
    _Atomic unsigned *go = &pool.slot[t].go;
    unsigned seen = 0;
    uint64_t idle_since = now_ns();
    for (;;) {
        unsigned g = atomic_load_explicit(go, memory_order_acquire);
        if (g == seen) {
            for (int k = 0; k < 64; k++) cpu_relax();
            if (now_ns() - idle_since < SPIN_NANOSECONDS) continue;
            // Sleep. Announce it before re-checking, so the publisher either sees us or we see it.
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while ((g = atomic_load(go)) == seen)
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
        seen = g;
        pool.task(pool.context, t, pool.n);
        atomic_fetch_add_explicit(&pool.finished, 1, memory_order_release);
        idle_since = now_ns();
    }
    return NULL;
}

static int read_default_threads(void) {
    const char *env = getenv("MNISTLAB_THREADS");
    int n = env != NULL ? atoi(env) : 0;
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
    }
    return n > MAX_THREADS ? MAX_THREADS : n;
}

int mnl_threads(void) {
    int n = atomic_load(&default_threads);
    if (n > 0) return n;
    n = read_default_threads();
    int expected = 0;
    atomic_compare_exchange_strong(&default_threads, &expected, n);
    return atomic_load(&default_threads);
}

void mnl_set_threads(int n) {
    atomic_store(&default_threads, n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n);
}

void mnl_parallel(mnl_task task, void *context, int n) {
    if (n <= 0) n = mnl_threads();
    if (n > MAX_THREADS) n = MAX_THREADS;
    if (n == 1) {
        task(context, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool.region_lock);
    while (pool.workers < n - 1) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int err = pthread_create(&thread, &attr, worker_main, (void *)(intptr_t)(pool.workers + 1));
        pthread_attr_destroy(&attr);
        if (err != 0) break;
        pool.workers++;
    }
    if (pool.workers < n - 1) n = pool.workers + 1;  // could not start more: fewer threads
    pool.task = task;
    pool.context = context;
    pool.n = n;
    atomic_store(&pool.finished, 0);
    atomic_store(&pool.barrier_count, 0);
    for (int t = 1; t < n; t++) atomic_fetch_add(&pool.slot[t].go, 1);  // publishes the above
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    task(context, 0, n);
    int spins = 0;
    while (atomic_load_explicit(&pool.finished, memory_order_acquire) < n - 1) wait_pause(&spins);
    pthread_mutex_unlock(&pool.region_lock);
}

void mnl_barrier(int n) {
    if (n <= 1) return;
    const unsigned g = atomic_load(&pool.barrier_generation);
    if (atomic_fetch_add(&pool.barrier_count, 1) == n - 1) {
        atomic_store(&pool.barrier_count, 0);
        atomic_fetch_add(&pool.barrier_generation, 1);
    } else {
        int spins = 0;
        while (atomic_load(&pool.barrier_generation) == g) wait_pause(&spins);
    }
}
