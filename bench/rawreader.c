/*
 * rawreader: the reference the QEMU benchmarks compare with, the least a
 * reader of QMP events can do: connect, negotiate, split the stream into
 * lines (memchr) and nothing else.
 *
 *   rawreader burst ROOT DOMAINS EVENTS
 *   rawreader paced ROOT EVENTS SAMPLES_FILE
 *
 * Connects to ROOT/vm0.qmp ... vm{DOMAINS-1}.qmp (bench/fakeqemu), sends
 * qmp_capabilities, prints "ready" and counts lines until DOMAINS * EVENTS
 * have arrived; one monitor is read with blocking reads, several through
 * epoll. Prints "key value" lines like bench/consumer: events, rate (lines/s
 * from the first line to the last), hwm_kib, cpu_ns_per_event.rawreader. In paced mode each line's RTC
 * offset (the fake QEMU's CLOCK_MONOTONIC at send) gives its latency in ns,
 * written one per line to SAMPLES_FILE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
            samples[lines] = offset ? now - strtoll(offset + 10, NULL, 10) : -1;
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
    } else if (argc == 5 && strcmp(argv[1], "paced") == 0) {
        ndomains = 1;
        expected = atoll(argv[3]);
        samples_file = argv[4];
        samples = calloc((size_t)expected, sizeof(*samples));
        if (!samples)
            return 2;
    } else {
        fprintf(stderr, "usage: rawreader burst ROOT DOMAINS EVENTS | paced ROOT EVENTS SAMPLES_FILE\n");
        return 2;
    }
    raise_fd_limit();
    reader_t *readers = calloc((size_t)ndomains, sizeof(*readers));
    if (!readers)
        return 2;
    for (int i = 0; i < ndomains; i++)
        open_monitor(&readers[i], argv[2], i);
    thread_cpu_t cpu_before, cpu_after;
    thread_cpu_snapshot(&cpu_before);
    printf("ready\n");
    fflush(stdout);

    /* Lines that came with the handshake's reply. */
    for (int i = 0; i < ndomains; i++)
        split(&readers[i], 0);
    if (ndomains == 1) {
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
        int open_count = ndomains;
        while (lines < expected && open_count > 0) {
            struct epoll_event events[64];
            int n = epoll_wait(ep, events, 64, 20000);
            if (n == 0)
                break;
            for (int i = 0; i < n; i++) {
                reader_t *r = events[i].data.ptr;
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
