// A persistent pool of worker threads for `mnl_parallel_for`. The caller takes part in every
// region; workers are started on first use and live for the process.
//
// A region is a fixed list of chunks. Threads claim chunks in ascending order from one shared
// word, `claim` = generation << 32 | next chunk, with a compare-and-swap that names the
// generation, so a worker that wakes up late can never claim a chunk of a later region. The
// caller waits only for chunks that have been claimed and not yet finished: a worker that is
// descheduled (the machine is shared) before it claims anything costs the region nothing, its
// chunks are simply taken by whoever is running. Which thread runs a chunk depends on timing;
// what a chunk computes must not (the task's business, see MLP.c).
//
// Between regions `claim` holds the generation with next = CLOSED. A worker spins on the word
// for ~100 µs after its last chunk (an epoch issues a few regions per batch, microseconds apart)
// and then sleeps on a condition variable.
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
// A waiter pauses this many times before yielding the CPU each round: on a busy machine the
// thread it waits for may need that core.
#define PAUSES_BEFORE_YIELD 2000
#define CLOSED 0xFFFFFFFFu

static void wait_pause(int *spins) {
    if (++*spins < PAUSES_BEFORE_YIELD) cpu_relax();
    else sched_yield();
}

static inline uint32_t generation_of(uint64_t c) { return (uint32_t)(c >> 32); }
static inline uint32_t next_of(uint64_t c) { return (uint32_t)c; }

static struct {
    pthread_mutex_t region_lock;  // one region at a time
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Alignas(64) _Atomic uint64_t claim;
    _Alignas(64) _Atomic int done;  // chunks finished in the current region
    // The current region, written (release) only while `claim` is CLOSED: a reader that sees
    // a later region's value here also sees CLOSED, so its claim for the earlier one fails.
    _Alignas(64) _Atomic(mnl_chunk_task) task;
    _Atomic(void *) context;
    _Atomic int count;
    _Atomic int threads;
    _Atomic int sleepers;
    int workers;  // started so far; worker w is thread w + 1
} pool = {
    .region_lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .claim = CLOSED,
};

static _Atomic int default_threads;  // 0: not read yet

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Claims and runs chunks of the region whose claim word was `c` until none is left (or the
// region is over). `count` may be a later region's: then the claim fails, see `pool`.
static void run_chunks(uint64_t c, mnl_chunk_task task, void *context, uint32_t count) {
    const uint32_t g = generation_of(c);
    while (generation_of(c) == g && next_of(c) < count) {
        if (atomic_compare_exchange_weak_explicit(&pool.claim, &c, c + 1, memory_order_acquire,
                                                  memory_order_acquire)) {
            task(context, (int)next_of(c));
            atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
            c = atomic_load_explicit(&pool.claim, memory_order_acquire);
        }
    }
}

static void *worker_main(void *arg) {
    const int t = (int)(intptr_t)arg;
    uint32_t last = generation_of(atomic_load(&pool.claim));
    uint64_t idle_since = now_ns();
    for (;;) {
        uint64_t c = atomic_load_explicit(&pool.claim, memory_order_acquire);
        if (generation_of(c) == last) {
            for (int k = 0; k < 64; k++) cpu_relax();
            if (now_ns() - idle_since < SPIN_NANOSECONDS) continue;
            // Sleep. Announce it before re-checking, so the publisher either sees us or we see it.
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while (generation_of(c = atomic_load(&pool.claim)) == last)
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
        last = generation_of(c);
        if (next_of(c) != CLOSED &&
            t < atomic_load_explicit(&pool.threads, memory_order_acquire)) {
            mnl_chunk_task task = atomic_load_explicit(&pool.task, memory_order_acquire);
            void *context = atomic_load_explicit(&pool.context, memory_order_acquire);
            const int count = atomic_load_explicit(&pool.count, memory_order_acquire);
            run_chunks(c, task, context, (uint32_t)count);
        }
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

void mnl_parallel_for(mnl_chunk_task task, void *context, int chunks, int n) {
    if (chunks <= 0) return;
    if (n <= 0) n = mnl_threads();
    if (n > MAX_THREADS) n = MAX_THREADS;
    if (n > chunks) n = chunks;
    if (n == 1) {
        for (int c = 0; c < chunks; c++) task(context, c);
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
    // `claim` is CLOSED here: describe the region, then open it.
    const uint32_t g = generation_of(atomic_load(&pool.claim)) + 1;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.task, task, memory_order_release);
    atomic_store_explicit(&pool.context, context, memory_order_release);
    atomic_store_explicit(&pool.count, chunks, memory_order_release);
    atomic_store_explicit(&pool.threads, n, memory_order_release);
    const uint64_t open = (uint64_t)g << 32;
    atomic_store(&pool.claim, open);  // seq_cst: ordered before the load of `sleepers`
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    run_chunks(open, task, context, (uint32_t)chunks);
    int spins = 0;
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < chunks) wait_pause(&spins);
    atomic_store(&pool.claim, open | CLOSED);
    pthread_mutex_unlock(&pool.region_lock);
}
