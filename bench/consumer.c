/*
 * consumer: the application side of the QEMU benchmarks, written against the
 * public libvirt C API only (it builds against any libvirt.so.0).
 *
 *   consumer burst ROOT DOMAINS EVENTS IDLE_SECONDS
 *   consumer paced ROOT EVENTS SAMPLES_FILE
 *
 * Opens qemu:///embed?root=ROOT (whose fake QEMUs are bench/fakeqemu's
 * vm0 ... vm{DOMAINS-1}), checks that every monitor is attached, registers
 * the callbacks of the burst's six events, runs the default event loop in a
 * thread of its own and prints "ready"; the runner then starts the fake
 * QEMUs' burst. Every callback checks that its event is the next one its
 * domain sent (the mix's order, RTC offsets counting up), so the figures
 * below only count a complete, ordered delivery. Results are printed as
 * "key value" lines:
 *
 *   burst: attach_s, rss_kib (after attaching), rss_per_monitor_kib (the
 *          growth from before virConnectOpen, over DOMAINS), threads, idle_cpu_ms and
 *          idle_wakeups (over IDLE_SECONDS, when > 0), events, rate
 *          (events/s from the first callback to the last), order_errors,
 *          hwm_kib (peak RSS), and cpu_ns_per_event.THREAD: each thread's
 *          CPU time over the delivery, by thread name, per event (this
 *          program's loop thread is "app-event-loop").
 *   paced: every RTC change is stamped by the fake QEMU with CLOCK_MONOTONIC
 *          at send; the latency (ns) of each callback is written, one per
 *          line, to SAMPLES_FILE.
 *
 * Exits 1 when events are missing (nothing arrived for STALL seconds) or
 * out of order.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common.h"

#define MIX 6
#define RTC_KIND 3
#define RTC_BASE 1000000000LL
#define STALL_SECONDS 20

typedef struct {
    long long count;
} domain_state_t;

static domain_state_t *domains;
static int ndomains;
static long long expected_total, delivered, order_errors, first_ns, last_ns, last_offset;
static int paced;
static long long *samples;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static domain_state_t *state_of(virDomainPtr dom)
{
    /* One monitor, one domain: keep the name lookup off the fastest path. */
    if (ndomains == 1)
        return &domains[0];
    const char *name = virDomainGetName(dom);
    char *end;
    long index = name && strncmp(name, "vm", 2) == 0 ? strtol(name + 2, &end, 10) : -1;
    if (index < 0 || index >= ndomains || *end)
        return NULL;
    return &domains[index];
}

/* Counts one delivery of `kind` for `dom`, checking it is the one expected next. */
static void delivered_one(virDomainPtr dom, int kind, long long rtc_offset)
{
    long long now = mono_ns();
    domain_state_t *d = state_of(dom);
    if (!d) {
        order_errors++;
        return;
    }
    if (paced) {
        /* Stamped at send: offsets only grow. */
        if (kind != RTC_KIND || d->count >= expected_total || rtc_offset <= last_offset) {
            order_errors++;
            return;
        }
        last_offset = rtc_offset;
        samples[d->count] = now - rtc_offset;
    } else {
        long long expected_kind = d->count % MIX;
        if (kind != expected_kind || (kind == RTC_KIND && rtc_offset != RTC_BASE + d->count / MIX))
            order_errors++;
    }
    d->count++;
    if (delivered == 0)
        first_ns = now;
    last_ns = now;
    /* The main thread watches `delivered` for progress. */
    long long total = delivered + 1;
    __atomic_store_n(&delivered, total, __ATOMIC_RELEASE);
    if (total == expected_total) {
        pthread_mutex_lock(&lock);
        pthread_cond_signal(&done_cond);
        pthread_mutex_unlock(&lock);
    }
}

static void on_graphics(virConnectPtr conn, virDomainPtr dom, int phase, const virDomainEventGraphicsAddress *local,
                        const virDomainEventGraphicsAddress *remote, const char *scheme,
                        const virDomainEventGraphicsSubject *subject, void *opaque)
{
    (void)conn, (void)local, (void)remote, (void)scheme, (void)subject, (void)opaque;
    delivered_one(dom, phase, 0);
}

static void on_rtc(virConnectPtr conn, virDomainPtr dom, long long offset, void *opaque)
{
    (void)conn, (void)opaque;
    delivered_one(dom, RTC_KIND, offset);
}

static void on_watchdog(virConnectPtr conn, virDomainPtr dom, int action, void *opaque)
{
    (void)conn, (void)opaque;
    delivered_one(dom, action == VIR_DOMAIN_EVENT_WATCHDOG_RESET ? 4 : -1, 0);
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    (void)conn, (void)opaque;
    delivered_one(dom, 5, 0);
}

static void *run_loop(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "app-event-loop");
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

static void register_or_die(virConnectPtr conn, int id, virConnectDomainEventGenericCallback cb)
{
    if (virConnectDomainEventRegisterAny(conn, NULL, id, cb, NULL, NULL) < 0) {
        fprintf(stderr, "consumer: registering event %d: %s\n", id, virGetLastErrorMessage());
        exit(1);
    }
}

static double cpu_seconds(struct rusage *u)
{
    return u->ru_utime.tv_sec + u->ru_stime.tv_sec + (u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    char uri[4096];
    const char *samples_file = NULL;
    double idle_seconds = 0;
    pthread_t loop;

    if (argc == 6 && strcmp(argv[1], "burst") == 0) {
        ndomains = atoi(argv[3]);
        expected_total = atoll(argv[4]) * ndomains;
        idle_seconds = atof(argv[5]);
    } else if (argc == 5 && strcmp(argv[1], "paced") == 0) {
        paced = 1;
        ndomains = 1;
        expected_total = atoll(argv[3]);
        samples_file = argv[4];
        samples = calloc((size_t)expected_total, sizeof(*samples));
    } else {
        fprintf(stderr, "usage: consumer burst ROOT DOMAINS EVENTS IDLE_SECONDS | paced ROOT EVENTS SAMPLES_FILE\n");
        return 2;
    }
    domains = calloc((size_t)ndomains, sizeof(*domains));
    if (!domains || (paced && !samples) || expected_total <= 0)
        return 2;
    raise_fd_limit();
    snprintf(uri, sizeof(uri), "qemu:///embed?root=%s", argv[2]);
    if (virEventRegisterDefaultImpl() < 0)
        return 1;

    long rss_before = status_kib("VmRSS");
    long long t0 = mono_ns();
    virConnectPtr conn = virConnectOpen(uri);
    virDomainPtr *list = NULL;
    int attached = conn ? virConnectListAllDomains(conn, &list, 0) : -1;
    double attach_s = (mono_ns() - t0) / 1e9;
    if (attached != ndomains) {
        fprintf(stderr, "consumer: %d of %d monitors attached: %s\n", attached, ndomains, virGetLastErrorMessage());
        return 1;
    }
    for (int i = 0; i < attached; i++)
        virDomainFree(list[i]);
    free(list);
    long rss_after = status_kib("VmRSS");

    if (paced) {
        register_or_die(conn, VIR_DOMAIN_EVENT_ID_RTC_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_rtc));
    } else {
        register_or_die(conn, VIR_DOMAIN_EVENT_ID_GRAPHICS, VIR_DOMAIN_EVENT_CALLBACK(on_graphics));
        register_or_die(conn, VIR_DOMAIN_EVENT_ID_RTC_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_rtc));
        register_or_die(conn, VIR_DOMAIN_EVENT_ID_WATCHDOG, VIR_DOMAIN_EVENT_CALLBACK(on_watchdog));
        register_or_die(conn, VIR_DOMAIN_EVENT_ID_REBOOT, VIR_DOMAIN_EVENT_CALLBACK(on_reboot));
    }
    if (pthread_create(&loop, NULL, run_loop, NULL) != 0)
        return 1;
    printf("attach_s %.6f\n", attach_s);
    printf("rss_kib %ld\n", rss_after);
    printf("rss_per_monitor_kib %.2f\n", (double)(rss_after - rss_before) / ndomains);
    printf("threads %ld\n", status_kib("Threads"));

    if (idle_seconds > 0) {
        /* The loop thread has blocked by now; nothing should run. */
        struct rusage before, after;
        struct timespec settle = {0, 200 * 1000000L};
        nanosleep(&settle, NULL);
        getrusage(RUSAGE_SELF, &before);
        struct timespec idle = {(time_t)idle_seconds, (long)((idle_seconds - (time_t)idle_seconds) * 1e9)};
        nanosleep(&idle, NULL);
        getrusage(RUSAGE_SELF, &after);
        printf("idle_cpu_ms %.3f\n", (cpu_seconds(&after) - cpu_seconds(&before)) * 1000);
        /* Context switches of every thread, less the sleep's own. */
        printf("idle_wakeups %ld\n", after.ru_nvcsw + after.ru_nivcsw - before.ru_nvcsw - before.ru_nivcsw - 1);
    }
    thread_cpu_t cpu_before, cpu_after;
    thread_cpu_snapshot(&cpu_before);
    printf("ready\n");
    fflush(stdout);

    long long seen = -1;
    pthread_mutex_lock(&lock);
    for (int quiet = 0; __atomic_load_n(&delivered, __ATOMIC_ACQUIRE) < expected_total && quiet < STALL_SECONDS;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&done_cond, &lock, &until);
        long long now_delivered = __atomic_load_n(&delivered, __ATOMIC_ACQUIRE);
        quiet = now_delivered == seen ? quiet + 1 : 0;
        seen = now_delivered;
    }
    pthread_mutex_unlock(&lock);
    long long got = __atomic_load_n(&delivered, __ATOMIC_ACQUIRE), late_errors = order_errors;
    printf("events %lld\n", got);
    printf("order_errors %lld\n", late_errors);
    if (got > 1)
        printf("rate %.1f\n", (got - 1) / ((last_ns - first_ns) / 1e9));
    thread_cpu_snapshot(&cpu_after);
    print_thread_cpu(&cpu_before, &cpu_after, got);
    printf("hwm_kib %ld\n", status_kib("VmHWM"));
    if (samples_file) {
        FILE *f = fopen(samples_file, "w");
        for (long long i = 0; f && i < got; i++)
            fprintf(f, "%lld\n", samples[i]);
        if (f)
            fclose(f);
    }
    if (got != expected_total)
        fprintf(stderr, "consumer: %lld of %lld events delivered\n", got, expected_total);
    fflush(stdout);
    /* The loop thread never returns; leave without tearing the library down under it. */
    _exit(got == expected_total && late_errors == 0 ? 0 : 1);
}
