/*
 * rawreader: the reference the QEMU benchmarks compare with, the least a
 * reader of QMP events can do: connect, negotiate, split the stream into
 * lines (memchr) and nothing else.
 *
 *   rawreader burst ROOT DOMAINS EVENTS
 *   rawreader paced ROOT EVENTS SAMPLES_FILE
 *   rawreader handoff ROOT EVENTS SAMPLES_FILE
 *   rawreader polled ROOT EVENTS SAMPLES_FILE
 *
 * Connects to ROOT/vm0.qmp ... vm{DOMAINS-1}.qmp (bench/fakeqemu), sends
 * qmp_capabilities, prints "ready" and counts lines until DOMAINS * EVENTS
 * have arrived; one monitor is read with blocking reads, several through
 * epoll. Prints "key value" lines like bench/consumer: events, rate (lines/s
 * from the first line to the last), hwm_kib, cpu_ns_per_event.rawreader. In paced mode each line's RTC
 * offset (the fake QEMU's CLOCK_MONOTONIC at send) gives its latency in ns,
 * written one per line to SAMPLES_FILE.
 *
 * Handoff mode is paced mode with libvirt's shape, the least any reader
 * that dispatches as libvirt does can do: the monitor is read on one thread
 * (libvirt's per-domain monitor thread) and each line's offset is handed to
 * a second thread (the application's event loop) through a ring and an
 * eventfd it waits on in poll(2); the second thread stamps the latency. So
 * every line crosses two wake-ups, where paced mode's crosses one.
 *
 * Polled mode is paced mode as an event loop must read, the least any
 * reader that also waits for other things (timers, the application's
 * descriptors, other threads' wake-ups) can do: it waits in epoll_wait(2)
 * on the monitor and on an eventfd (the loop's wake-up, never written
 * here), then reads what the monitor has. Each line costs two system calls
 * where paced mode's blocking read costs one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define BUF_SIZE (64 * 1024)

typedef struct {
    int fd;
    size_t len; /* bytes of an unfinished line kept at the start of buf */
    char buf[BUF_SIZE + 1];
} reader_t;

static long long expected, lines, first_ns, last_ns;
static long long *samples;

/* Handoff mode: offsets read but not yet stamped, and the eventfd that
 * wakes the stamping thread. The ring is written by the reading thread
 * only, read by the stamping thread only. */
#define RING_SIZE 4096
static struct {
    int wakeup;
    long long offsets[RING_SIZE];
    long long written; /* published with release, read with acquire */
    int reading_ended;  /* the stream ended early: stop once all is stamped */
} handoff = {.wakeup = -1};

/* The stamping thread: waits in poll(2) like an event loop, then stamps
 * every offset handed to it since it last woke. */
static void *stamp_handed_off(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "stamper");
    long long stamped = 0;
    while (stamped < expected) {
        struct pollfd p = {.fd = handoff.wakeup, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
        uint64_t count;
        if (read(handoff.wakeup, &count, sizeof(count)) < 0 && errno != EAGAIN)
            break;
        int ended = __atomic_load_n(&handoff.reading_ended, __ATOMIC_ACQUIRE);
        long long written = __atomic_load_n(&handoff.written, __ATOMIC_ACQUIRE);
        long long now = mono_ns();
        for (; stamped < written; stamped++) {
            long long offset = handoff.offsets[stamped % RING_SIZE];
            samples[stamped] = offset < 0 ? -1 : now - offset;
        }
        if (ended)
            break;
    }
    return NULL;
}

/* One line's RTC offset (-1: none): stamped at once, or handed off. */
static void line_offset(long long now, long long offset)
{
    if (handoff.wakeup < 0) {
        samples[lines] = offset < 0 ? -1 : now - offset;
        return;
    }
    /* At 1000 lines/s the stamping thread is never RING_SIZE behind. */
    handoff.offsets[lines % RING_SIZE] = offset;
    __atomic_store_n(&handoff.written, lines + 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(handoff.wakeup, &one, sizeof(one)) < 0)
        perror("eventfd");
}

/* Reads into r->buf; returns the byte count, 0 at end of stream. */
static ssize_t fill(reader_t *r)
{
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->len, BUF_SIZE - r->len);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/* Splits what was read into lines; keeps an unfinished one for the next read. */
static void split(reader_t *r, size_t got)
{
    char *p = r->buf, *end = r->buf + r->len + got, *nl;
    long long now = samples ? mono_ns() : 0;
    while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
        if (samples && lines < expected) {
            *nl = 0;
            char *offset = strstr(p, "\"offset\": ");
            line_offset(now, offset ? strtoll(offset + 10, NULL, 10) : -1);
        }
        lines++;
        p = nl + 1;
    }
    if (lines > 0 && first_ns == 0)
        first_ns = samples ? now : mono_ns();
    r->len = (size_t)(end - p);
    if (r->len == BUF_SIZE)
        r->len = 0; /* no line is that long: drop it */
    memmove(r->buf, p, r->len);
}

/* Connects and negotiates; what follows the reply stays in r->buf. */
static void open_monitor(reader_t *r, const char *root, int index)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/vm%d.qmp", root, index);
    r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror(addr.sun_path);
        exit(1);
    }
    static const char negotiate[] = "{\"execute\": \"qmp_capabilities\", \"id\": 1}\r\n";
    if (write(r->fd, negotiate, sizeof(negotiate) - 1) != (ssize_t)sizeof(negotiate) - 1) {
        perror("write");
        exit(1);
    }
    /* The greeting, then the reply. */
    for (int replies = 0; replies < 2;) {
        ssize_t n = fill(r);
        if (n <= 0) {
            fprintf(stderr, "rawreader: %s closed during the handshake\n", addr.sun_path);
            exit(1);
        }
        r->len += (size_t)n;
        char *nl;
        while (replies < 2 && (nl = memchr(r->buf, '\n', r->len))) {
            replies++;
            r->len -= (size_t)(nl + 1 - r->buf);
            memmove(r->buf, nl + 1, r->len);
        }
    }
}

int main(int argc, char **argv)
{
    int ndomains;
    const char *samples_file = NULL;
    if (argc == 5 && strcmp(argv[1], "burst") == 0) {
        ndomains = atoi(argv[3]);
        expected = atoll(argv[4]) * ndomains;
    } else if (argc == 5 && (strcmp(argv[1], "paced") == 0 || strcmp(argv[1], "handoff") == 0 ||
                             strcmp(argv[1], "polled") == 0)) {
        ndomains = 1;
        expected = atoll(argv[3]);
        samples_file = argv[4];
        samples = calloc((size_t)expected, sizeof(*samples));
        if (!samples)
            return 2;
    } else {
        fprintf(stderr, "usage: rawreader burst ROOT DOMAINS EVENTS | paced|handoff|polled ROOT EVENTS SAMPLES_FILE\n");
        return 2;
    }
    raise_fd_limit();
    reader_t *readers = calloc((size_t)ndomains, sizeof(*readers));
    if (!readers)
        return 2;
    for (int i = 0; i < ndomains; i++)
        open_monitor(&readers[i], argv[2], i);
    pthread_t stamper;
    if (strcmp(argv[1], "handoff") == 0) {
        handoff.wakeup = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (handoff.wakeup < 0 || pthread_create(&stamper, NULL, stamp_handed_off, NULL) != 0) {
            perror("handoff");
            return 2;
        }
    }
    thread_cpu_t cpu_before, cpu_after;
    thread_cpu_snapshot(&cpu_before);
    printf("ready\n");
    fflush(stdout);

    /* Lines that came with the handshake's reply. */
    for (int i = 0; i < ndomains; i++)
        split(&readers[i], 0);
    int polled = strcmp(argv[1], "polled") == 0;
    if (ndomains == 1 && !polled) {
        while (lines < expected) {
            ssize_t n = fill(&readers[0]);
            if (n <= 0)
                break;
            split(&readers[0], (size_t)n);
        }
    } else {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        for (int i = 0; i < ndomains; i++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &readers[i]};
            epoll_ctl(ep, EPOLL_CTL_ADD, readers[i].fd, &ev);
        }
        /* An event loop's wake-up, in the set as it would be; never written. */
        struct epoll_event wake = {.events = EPOLLIN, .data.ptr = NULL};
        int loop_wakeup = polled ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
        if (polled && (loop_wakeup < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, loop_wakeup, &wake) < 0)) {
            perror("eventfd");
            return 2;
        }
        int open_count = ndomains;
        while (lines < expected && open_count > 0) {
            struct epoll_event events[64];
            int n = epoll_wait(ep, events, 64, 20000);
            if (n == 0)
                break;
            for (int i = 0; i < n; i++) {
                reader_t *r = events[i].data.ptr;
                if (!r)
                    continue;
                ssize_t got = fill(r);
                if (got <= 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, r->fd, NULL);
                    open_count--;
                } else {
                    split(r, (size_t)got);
                }
            }
        }
    }
    if (handoff.wakeup >= 0) {
        __atomic_store_n(&handoff.reading_ended, 1, __ATOMIC_RELEASE);
        uint64_t one = 1;
        if (write(handoff.wakeup, &one, sizeof(one)) < 0)
            perror("eventfd");
        pthread_join(stamper, NULL);
    }
    last_ns = mono_ns();
    printf("events %lld\n", lines);
    printf("order_errors 0\n");
    if (lines > 1)
        printf("rate %.1f\n", (lines - 1) / ((last_ns - first_ns) / 1e9));
    thread_cpu_snapshot(&cpu_after);
    print_thread_cpu(&cpu_before, &cpu_after, lines);
    printf("hwm_kib %ld\n", status_kib("VmHWM"));
    if (samples_file) {
        FILE *f = fopen(samples_file, "w");
        for (long long i = 0; f && i < lines && i < expected; i++)
            fprintf(f, "%lld\n", samples[i]);
        if (f)
            fclose(f);
    }
    fflush(stdout);
    return lines == expected ? 0 : 1;
}
