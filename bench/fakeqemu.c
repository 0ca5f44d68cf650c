/*
 * fakeqemu: one process serving many fake QEMU monitors for the benchmarks.
 *
 *   fakeqemu EVENTS DIR COUNT
 *
 * Listens on DIR/vm0.qmp ... DIR/vm{COUNT-1}.qmp (one epoll loop for all),
 * greets every client as QEMU 10 does and answers its commands (JSON
 * objects, newline or not: qmp_capabilities, query-status, query-uuid,
 * query-block; anything else gets an empty return). Prints "listening" once
 * the sockets exist, then obeys commands read from stdin, answering each with "ok M" (M = the
 * monitors that received it):
 *
 *   burst N       every negotiated monitor sends N events of the mix, in the
 *                 order of EVENTS (one recorded QEMU 10 line each: VNC
 *                 connected/initialized/disconnected, RTC change, watchdog,
 *                 reset); the RTC offset of cycle C is 1000000000 + C, so a
 *                 reader can check order and completeness.
 *   pace N RATE   N RTC changes at RATE per second on average to every
 *                 negotiated monitor, each offset being CLOCK_MONOTONIC in ns
 *                 at send. The gaps are uniform between a half and one and a
 *                 half periods, the same sequence in every run: strictly
 *                 periodic sends keep one phase against the kernel's
 *                 periodic tick for a whole run (1 ms against 4 ms at 250
 *                 Hz), so each run measured one arbitrary phase.
 *   quit          (or end of input) exit.
 *
 * The write side never blocks the loop during a burst: each monitor keeps a
 * buffer of whole lines, refilled while the socket accepts data, so replies
 * to commands only ever go between two events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MIX 6
#define RTC_KIND 3
#define RTC_BASE 1000000000LL
#define REFILL_BELOW (64 * 1024)
#define REFILL_CHUNK 256

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, "
    "\"capabilities\": []}}\r\n";

typedef struct {
    int is_listener;
    int fd;
    int negotiated;
    long long pending;  /* burst events still to generate */
    long long seq;      /* events generated so far */
    char *out;
    size_t out_head, out_len, out_cap;
    char in[8192];
    size_t in_len, scanned;
    int depth, in_string, escaped; /* where the scan of a command stands */
    int want_out;       /* EPOLLOUT registered */
} conn_t;

static char *templates[MIX];
static size_t template_len[MIX];
/* The RTC line around its offset. */
static char *rtc_prefix, *rtc_suffix;
static size_t rtc_prefix_len, rtc_suffix_len;
static int epfd;
static conn_t **conns;
static size_t nconns, conns_cap;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void load_events(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    if (!f)
        die(path);
    while (n < MIX && fgets(line, sizeof(line), f)) {
        size_t len = strcspn(line, "\r\n");
        if (len == 0)
            continue;
        memcpy(line + len, "\r\n", 3);
        templates[n] = strdup(line);
        template_len[n] = len + 2;
        n++;
    }
    fclose(f);
    if (n != MIX) {
        fprintf(stderr, "fakeqemu: %s: want %d event lines, found %d\n", path, MIX, n);
        exit(1);
    }
    const char *key = "\"offset\": ";
    char *at = strstr(templates[RTC_KIND], key);
    if (!strstr(templates[RTC_KIND], "\"RTC_CHANGE\"") || !at) {
        fprintf(stderr, "fakeqemu: line %d of %s is not an RTC_CHANGE with an offset\n", RTC_KIND + 1, path);
        exit(1);
    }
    at += strlen(key);
    rtc_prefix = templates[RTC_KIND];
    rtc_prefix_len = (size_t)(at - rtc_prefix);
    rtc_suffix = at + strspn(at, "-0123456789");
    rtc_suffix_len = strlen(rtc_suffix);
}

static void reserve(conn_t *c, size_t more)
{
    if (c->out_head > 0 && c->out_head == c->out_len)
        c->out_head = c->out_len = 0;
    if (c->out_len + more <= c->out_cap)
        return;
    if (c->out_head > 0) {
        memmove(c->out, c->out + c->out_head, c->out_len - c->out_head);
        c->out_len -= c->out_head;
        c->out_head = 0;
    }
    if (c->out_len + more > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + more)
            cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out)
            die("realloc");
        c->out_cap = cap;
    }
}

static void append(conn_t *c, const char *data, size_t len)
{
    reserve(c, len);
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static size_t format_ll(char *buf, long long v)
{
    char tmp[24];
    size_t n = 0, len = 0;
    unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

static void append_rtc(conn_t *c, long long offset)
{
    reserve(c, rtc_prefix_len + 24 + rtc_suffix_len);
    char *p = c->out + c->out_len;
    memcpy(p, rtc_prefix, rtc_prefix_len);
    p += rtc_prefix_len;
    p += format_ll(p, offset);
    memcpy(p, rtc_suffix, rtc_suffix_len);
    p += rtc_suffix_len;
    c->out_len = (size_t)(p - c->out);
}

static void refill(conn_t *c)
{
    for (int i = 0; i < REFILL_CHUNK && c->pending > 0; i++, c->pending--, c->seq++) {
        int kind = (int)(c->seq % MIX);
        if (kind == RTC_KIND)
            append_rtc(c, RTC_BASE + c->seq / MIX);
        else
            append(c, templates[kind], template_len[kind]);
    }
}

static void set_want_out(conn_t *c, int want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->want_out = want;
}

static void drop(conn_t *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    for (size_t i = 0; i < nconns; i++)
        if (conns[i] == c) {
            conns[i] = conns[--nconns];
            break;
        }
    free(c->out);
    free(c);
}

/* Writes what the socket takes; returns -1 when the client is gone. */
static int flush_out(conn_t *c)
{
    for (;;) {
        if (c->out_len - c->out_head < REFILL_BELOW && c->pending > 0)
            refill(c);
        if (c->out_head == c->out_len)
            break;
        ssize_t n = send(c->fd, c->out + c->out_head, c->out_len - c->out_head, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_want_out(c, 1);
                return 0;
            }
            return -1;
        }
        c->out_head += (size_t)n;
    }
    set_want_out(c, 0);
    return 0;
}

/* The value of "id" in a command, as raw JSON text (empty when absent). */
static void command_id(const char *line, char *id, size_t size)
{
    const char *p = strstr(line, "\"id\"");
    size_t n = 0;
    id[0] = 0;
    if (!p)
        return;
    p += 4;
    p += strspn(p, " \t:");
    if (*p == '"') {
        const char *q = p + 1;
        while (*q && *q != '"')
            q += (*q == '\\' && q[1]) ? 2 : 1;
        n = (size_t)(q - p) + (*q == '"');
    } else {
        n = strcspn(p, ",} \t\r\n");
    }
    if (n >= size)
        n = size - 1;
    memcpy(id, p, n);
    id[n] = 0;
}

static void answer(conn_t *c, char *line)
{
    char id[256], reply[512];
    const char *ret = "{}";
    if (strstr(line, "\"query-status\""))
        ret = "{\"running\": true, \"status\": \"running\"}";
    else if (strstr(line, "\"query-uuid\""))
        ret = "{\"UUID\": \"\"}";
    else if (strstr(line, "\"query-block\""))
        ret = "[]";
    else if (strstr(line, "\"qmp_capabilities\""))
        c->negotiated = 1;
    command_id(line, id, sizeof(id));
    int len = id[0] ? snprintf(reply, sizeof(reply), "{\"return\": %s, \"id\": %s}\r\n", ret, id)
                    : snprintf(reply, sizeof(reply), "{\"return\": %s}\r\n", ret);
    append(c, reply, (size_t)len);
}

static void on_readable(conn_t *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            drop(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        c->in_len += (size_t)n;
        /* Commands are JSON objects, not lines (qemu.qmp sends no newline):
         * each ends where its braces balance. */
        size_t start = 0;
        for (size_t i = c->scanned; i < c->in_len; i++) {
            char ch = c->in[i];
            if (c->escaped)
                c->escaped = 0;
            else if (c->in_string)
                c->escaped = ch == '\\', c->in_string = ch != '"';
            else if (ch == '"')
                c->in_string = 1;
            else if (ch == '{')
                c->depth++;
            else if (ch == '}' && c->depth > 0 && --c->depth == 0) {
                char saved = c->in[i + 1];
                c->in[i + 1] = 0;
                answer(c, c->in + start);
                c->in[i + 1] = saved;
                start = i + 1;
            } else if (c->depth == 0 && (ch == '\n' || ch == '\r' || ch == ' '))
                start = i + 1;
        }
        c->in_len -= start;
        memmove(c->in, c->in + start, c->in_len);
        c->scanned = c->in_len;
        if (c->in_len == sizeof(c->in) - 1)
            c->in_len = c->scanned = 0, c->depth = 0; /* an absurdly long command: forget it */
    }
    if (flush_out(c) < 0)
        drop(c);
}

static void on_accept(conn_t *listener)
{
    for (;;) {
        int fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        conn_t *c = calloc(1, sizeof(*c));
        if (!c)
            die("calloc");
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
        if (nconns == conns_cap) {
            conns_cap = conns_cap ? conns_cap * 2 : 64;
            conns = realloc(conns, conns_cap * sizeof(*conns));
            if (!conns)
                die("realloc");
        }
        conns[nconns++] = c;
        append(c, greeting, sizeof(greeting) - 1);
        if (flush_out(c) < 0)
            drop(c);
    }
}

static int negotiated_count(void)
{
    int n = 0;
    for (size_t i = 0; i < nconns; i++)
        n += conns[i]->negotiated;
    return n;
}

static void burst(long long n)
{
    int sent = 0;
    for (size_t i = 0; i < nconns; i++) {
        conn_t *c = conns[i];
        if (!c->negotiated)
            continue;
        c->pending += n;
        sent++;
    }
    printf("ok %d\n", sent);
    fflush(stdout);
    for (size_t i = nconns; i-- > 0;)
        if (conns[i]->pending && flush_out(conns[i]) < 0)
            drop(conns[i]);
}

/* Blocks until everything buffered for `c` is written (pacing is slow). */
static int flush_blocking(conn_t *c)
{
    while (c->out_head < c->out_len) {
        if (flush_out(c) < 0)
            return -1;
        if (c->out_head < c->out_len) {
            struct pollfd p = {.fd = c->fd, .events = POLLOUT};
            poll(&p, 1, 1000);
        }
    }
    return 0;
}

static void pace(long long n, double rate)
{
    double period = 1e9 / rate;
    long long next = mono_ns();
    int targets = negotiated_count();
    unsigned short gaps[3] = {0x1234, 0x5678, 0x9abc}; /* erand48's state: a fixed sequence */
    for (long long i = 0; i < n; i++) {
        struct timespec at = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
            ;
        next += (long long)(period * (0.5 + erand48(gaps)));
        for (size_t k = nconns; k-- > 0;) {
            conn_t *c = conns[k];
            if (!c->negotiated)
                continue;
            append_rtc(c, mono_ns());
            if (flush_blocking(c) < 0)
                drop(c);
        }
    }
    printf("ok %d\n", targets);
    fflush(stdout);
}

/* Returns 0 when asked to quit. */
static int on_command(void)
{
    static char buf[256];
    static size_t len;
    ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0)
        return 0;
    len += (size_t)n;
    buf[len] = 0;
    char *nl;
    while ((nl = strchr(buf, '\n'))) {
        *nl = 0;
        long long count;
        double rate;
        if (sscanf(buf, "burst %lld", &count) == 1)
            burst(count);
        else if (sscanf(buf, "pace %lld %lf", &count, &rate) == 2 && rate > 0)
            pace(count, rate);
        else if (strcmp(buf, "quit") == 0)
            return 0;
        else
            fprintf(stderr, "fakeqemu: unknown command '%s'\n", buf);
        len -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, len + 1);
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fakeqemu EVENTS DIR COUNT\n");
        return 2;
    }
    load_events(argv[1]);
    int count = atoi(argv[3]);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    for (int i = 0; i < count; i++) {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/vm%d.qmp", argv[2], i) >= (int)sizeof(addr.sun_path)) {
            fprintf(stderr, "fakeqemu: %s: path too long for a unix socket\n", argv[2]);
            return 1;
        }
        conn_t *l = calloc(1, sizeof(*l));
        l->is_listener = 1;
        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0)
            die("socket");
        unlink(addr.sun_path);
        if (bind(l->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l->fd, 128) < 0)
            die(addr.sun_path);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev) < 0)
            die("epoll_ctl");
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0)
        die("epoll_ctl stdin");
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        struct epoll_event events[64];
        int n = epoll_wait(epfd, events, 64, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c) {
                if (!on_command())
                    return 0;
                /* The connection list may have changed: take a new batch. */
                break;
            }
            if (c->is_listener)
                on_accept(c);
            else if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
            else if (flush_out(c) < 0)
                drop(c);
        }
    }
}
