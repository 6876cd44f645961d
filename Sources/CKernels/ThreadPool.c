// A persistent pool of worker threads for `mnl_parallel_for`. The caller takes part in every
// region; workers are started on first use and live for the process.
//
// A region is a fixed list of chunks. Threads claim chunks from one shared word, `claim` =
// generation << 32 | lo << 16 | hi (chunks lo ..< hi are unclaimed), with a compare-and-swap
// that names the generation, so a worker that wakes up late can never claim a chunk of a later
// region. The caller claims from the front (lo), the workers from the back (hi − 1): with two
// threads that both keep up, each runs the same chunks batch after batch, so what a chunk
// writes (gradient rows, velocity, regrouped columns) stays in one core's cache instead of
// moving between cores. The caller waits only for chunks that have been claimed and not yet
// finished (each worker counts its finished chunks on its own cache line): a worker that is
// descheduled (the machine is shared) before it claims anything costs the region nothing, its
// chunks are simply taken by whoever is running. Which thread runs a chunk depends on timing;
// what a chunk computes must not (the task's business, see MLP.c).
//
// Between regions `claim` holds the generation with lo = hi = 0. A worker polls the word (one
// pause between polls) for ~100 µs after its last chunk (an epoch issues a few regions per
// batch, microseconds apart) and then sleeps on a condition variable.
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
// Chunks per region that the claim word can count; longer lists run as several regions.
#define MAX_CHUNKS 0xFFFF

static inline int min_chunks(int a, int b) { return a < b ? a : b; }

static void wait_pause(int *spins) {
    if (++*spins < PAUSES_BEFORE_YIELD) cpu_relax();
    else sched_yield();
}

// The claim word: generation << 32 | lo << 16 | hi. Chunks lo ..< hi are unclaimed; the caller
// takes lo, the workers take hi − 1. lo == hi: nothing left (between regions: 0, 0).
static inline uint32_t generation_of(uint64_t c) { return (uint32_t)(c >> 32); }
static inline uint32_t lo_of(uint64_t c) { return (uint32_t)(c >> 16) & 0xFFFF; }
static inline uint32_t hi_of(uint64_t c) { return (uint32_t)c & 0xFFFF; }

typedef struct {
    _Alignas(64) _Atomic uint64_t finished;  // chunks this worker has run, ever (owner writes)
} worker_slot;

static struct {
    pthread_mutex_t region_lock;  // one region at a time
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Alignas(64) _Atomic uint64_t claim;
    // The current region, written (release) only between regions (lo == hi): a reader that
    // sees a later region's value here also sees that, or a later generation, so its claim
    // for the earlier one fails.
    _Alignas(64) _Atomic(mnl_chunk_task) task;
    _Atomic(void *) context;
    _Atomic int threads;
    _Atomic int sleepers;
    int workers;  // started so far; worker w is thread w + 1
    worker_slot slot[MAX_THREADS];  // slot[w]: worker w
} pool = {
    .region_lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .claim = 0,
};

static _Atomic int default_threads;  // 0: not read yet

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Worker w claims and runs chunks from the back of the region whose claim word was `c` until
// none is left (or the region is over); returns how many it ran.
static uint64_t run_back(uint64_t c, mnl_chunk_task task, void *context, int w) {
    const uint32_t g = generation_of(c);
    uint64_t ran = atomic_load_explicit(&pool.slot[w].finished, memory_order_relaxed);
    while (generation_of(c) == g && lo_of(c) < hi_of(c)) {
        if (atomic_compare_exchange_weak_explicit(&pool.claim, &c, c - 1, memory_order_acquire,
                                                  memory_order_acquire)) {
            task(context, (int)hi_of(c) - 1);
            atomic_store_explicit(&pool.slot[w].finished, ++ran, memory_order_release);
            c = atomic_load_explicit(&pool.claim, memory_order_acquire);
        }
    }
    return ran;
}

static void *worker_main(void *arg) {
    const int t = (int)(intptr_t)arg;
    uint32_t last = generation_of(atomic_load(&pool.claim));
    uint64_t idle_since = now_ns();
    unsigned polls = 0;
    for (;;) {
        uint64_t c = atomic_load_explicit(&pool.claim, memory_order_acquire);
        if (generation_of(c) == last) {
            cpu_relax();
            if (++polls % 64 != 0 || now_ns() - idle_since < SPIN_NANOSECONDS) continue;
            // Sleep. Announce it before re-checking, so the publisher either sees us or we see it.
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while (generation_of(c = atomic_load(&pool.claim)) == last)
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
        last = generation_of(c);
        if (lo_of(c) < hi_of(c) && t < atomic_load_explicit(&pool.threads, memory_order_acquire)) {
            mnl_chunk_task task = atomic_load_explicit(&pool.task, memory_order_acquire);
            void *context = atomic_load_explicit(&pool.context, memory_order_acquire);
            run_back(c, task, context, t - 1);
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

static uint64_t workers_finished(int workers) {
    uint64_t sum = 0;
    for (int w = 0; w < workers; w++)
        sum += atomic_load_explicit(&pool.slot[w].finished, memory_order_acquire);
    return sum;
}

// One region of `chunks` ≤ MAX_CHUNKS on n ≥ 2 threads; region_lock held.
static void run_region(mnl_chunk_task task, void *context, int chunks, int n) {
    // The claim word has lo == hi here: describe the region, then open it.
    const uint32_t g = generation_of(atomic_load(&pool.claim)) + 1;
    const uint64_t before = workers_finished(pool.workers);
    atomic_store_explicit(&pool.task, task, memory_order_release);
    atomic_store_explicit(&pool.context, context, memory_order_release);
    atomic_store_explicit(&pool.threads, n, memory_order_release);
    uint64_t c = (uint64_t)g << 32 | (uint32_t)chunks;
    atomic_store(&pool.claim, c);  // seq_cst: ordered before the load of `sleepers`
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    // The caller claims from the front. With two threads each then runs the same chunks batch
    // after batch (as long as both keep up), so what a chunk writes stays in one core's cache.
    uint64_t mine = 0;
    while (lo_of(c) < hi_of(c)) {
        if (atomic_compare_exchange_weak_explicit(&pool.claim, &c, c + (1u << 16),
                                                  memory_order_acquire, memory_order_acquire)) {
            task(context, (int)lo_of(c));
            mine++;
            c = atomic_load_explicit(&pool.claim, memory_order_acquire);
        }
    }
    int spins = 0;
    while (mine + workers_finished(pool.workers) - before < (uint64_t)chunks) wait_pause(&spins);
    atomic_store(&pool.claim, (uint64_t)g << 32);
}

typedef struct {
    mnl_chunk_task task;
    void *context;
    int offset;
} piece;

static void run_piece(void *context, int chunk) {
    const piece *p = context;
    p->task(p->context, p->offset + chunk);
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
    if (chunks <= MAX_CHUNKS) {
        run_region(task, context, chunks, n);
    } else {
        for (int offset = 0; offset < chunks; offset += MAX_CHUNKS) {
            piece p = {task, context, offset};
            run_region(run_piece, &p, min_chunks(chunks - offset, MAX_CHUNKS), n);
        }
    }
    pthread_mutex_unlock(&pool.region_lock);
}
