/*
 * Small TAP-style helpers shared by the virt-events C conformance programs.
 *
 * Every check prints "ok N - what" or "not ok N - what: details"; the
 * program's exit status is non-zero when any check failed.  The helpers only
 * use public libvirt API so that the same program can be built against the
 * real libvirt headers or against ours.
 */
#ifndef VIRT_EVENTS_TAP_H
#define VIRT_EVENTS_TAP_H

#define _GNU_SOURCE 1

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int tap_count;
static int tap_failures;

static inline void tap_vresult(int pass, const char *what, const char *fmt, va_list ap)
{
    tap_count++;
    if (pass) {
        printf("ok %d - %s\n", tap_count, what);
    } else {
        tap_failures++;
        printf("not ok %d - %s", tap_count, what);
        if (fmt && *fmt) {
            printf(": ");
            vprintf(fmt, ap);
        }
        printf("\n");
    }
    fflush(stdout);
}

/* ok(cond, what, detail-format, ...): the details are only printed on failure. */
static inline int ok(int pass, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int ok(int pass, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vresult(pass, what, fmt, ap);
    va_end(ap);
    return pass;
}

static inline int ok_int(long long got, long long want, const char *what)
{
    return ok(got == want, what, "got %lld, expected %lld", got, want);
}

static inline int ok_str(const char *got, const char *want, const char *what)
{
    int pass = got && want ? strcmp(got, want) == 0 : got == want;
    return ok(pass, what, "got \"%s\", expected \"%s\"",
              got ? got : "(null)", want ? want : "(null)");
}

static inline const char *tap_s(const char *s)
{
    return s ? s : "(null)";
}

/* Compare the thread's last error with code/domain/message.  When 'prefix'
 * is non-zero only the start of the message is compared.  The three
 * virGetLastError* accessors must agree with the structure. */
static inline int tap_check_error(const char *what, int code, int domain,
                                  const char *msg, int prefix)
{
    virErrorPtr e = virGetLastError();
    int pass;
    if (!e)
        return ok(0, what, "no error set (expected code %d domain %d \"%s\")",
                  code, domain, msg);
    pass = e->code == code && e->domain == domain && e->message &&
        (prefix ? strncmp(e->message, msg, strlen(msg)) == 0
                : strcmp(e->message, msg) == 0) &&
        e->level == VIR_ERR_ERROR &&
        virGetLastErrorCode() == code && virGetLastErrorDomain() == domain &&
        strcmp(virGetLastErrorMessage(), e->message) == 0;
    return ok(pass, what,
              "got code %d domain %d level %d message \"%s\" (accessors: %d/%d/\"%s\"); "
              "expected code %d domain %d %s \"%s\"",
              e->code, e->domain, (int)e->level, tap_s(e->message),
              virGetLastErrorCode(), virGetLastErrorDomain(), virGetLastErrorMessage(),
              code, domain, prefix ? "message starting with" : "message", msg);
}

#define ok_error(what, code, domain, msg) tap_check_error(what, code, domain, msg, 0)
#define ok_error_prefix(what, code, domain, msg) tap_check_error(what, code, domain, msg, 1)

static inline int ok_no_error(const char *what)
{
    virErrorPtr e = virGetLastError();
    return ok(e == NULL, what, "unexpected error: code %d domain %d \"%s\"",
              e ? e->code : 0, e ? e->domain : 0, e ? tap_s(e->message) : "");
}

/* ---- quiet error handler ------------------------------------------------ */

static int tap_errfunc_calls;
static int tap_errfunc_last_code;
static int tap_errfunc_last_domain;
static char tap_errfunc_last_msg[1024];
static void *tap_errfunc_last_userdata;

static inline void tap_quiet_errfunc(void *userdata, virErrorPtr err)
{
    tap_errfunc_calls++;
    tap_errfunc_last_userdata = userdata;
    tap_errfunc_last_code = err ? err->code : -1;
    tap_errfunc_last_domain = err ? err->domain : -1;
    snprintf(tap_errfunc_last_msg, sizeof(tap_errfunc_last_msg), "%s",
             err && err->message ? err->message : "");
}

/* ---- sequence log ------------------------------------------------------- */

static char tap_log[16384];

static inline void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void logf_(const char *fmt, ...)
{
    size_t len = strlen(tap_log);
    va_list ap;
    if (len && len < sizeof(tap_log) - 1)
        tap_log[len++] = ' ';
    va_start(ap, fmt);
    vsnprintf(tap_log + len, sizeof(tap_log) - len, fmt, ap);
    va_end(ap);
}

static inline void log_reset(void)
{
    tap_log[0] = '\0';
}

/* Compare the log with the expected text, then clear it. */
static inline int ok_log(const char *want, const char *what)
{
    int pass = strcmp(tap_log, want) == 0;
    ok(pass, what, "sequence was \"%s\", expected \"%s\"", tap_log, want);
    log_reset();
    return pass;
}

/* ---- misc --------------------------------------------------------------- */

static inline double tap_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Seconds the program may run before SIGALRM kills it; the runner raises
 * this (VIRT_EVENTS_TEST_TIMEOUT) when it runs the programs under valgrind. */
static inline unsigned tap_timeout(void)
{
    const char *s = getenv("VIRT_EVENTS_TEST_TIMEOUT");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v > 0 ? (unsigned)v : 10;
}

/* A multiplier for timing tolerances (large under valgrind). */
static inline double tap_slowdown(void)
{
    return tap_timeout() > 10 ? 10.0 : 1.0;
}

static inline void tap_on_alarm(int sig)
{
    static const char msg[] = "not ok - timed out (SIGALRM): the program hung\n";
    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing else we can do */
    }
    _exit(3);
}

/* Common start-up: unbuffered stdout, watchdog alarm, quiet error func. */
static inline void tap_init(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, tap_on_alarm);
    alarm(tap_timeout());
    virSetErrorFunc(NULL, tap_quiet_errfunc);
}

/* If VIRT_EVENTS_EXPECT_LIBDIR is set, check through /proc/self/maps that the
 * libvirt.so.0 mapped into this process lives in that directory (used by the
 * drop-in test, where the program was linked against the system libvirt). */
static inline void tap_check_loaded_library(void)
{
    const char *want = getenv("VIRT_EVENTS_EXPECT_LIBDIR");
    char want_real[PATH_MAX], line[4096], found[PATH_MAX] = "";
    FILE *f;
    if (!want || !*want)
        return;
    if (!realpath(want, want_real)) {
        ok(0, "libvirt.so.0 is loaded from VIRT_EVENTS_EXPECT_LIBDIR",
           "cannot resolve %s", want);
        return;
    }
    f = fopen("/proc/self/maps", "r");
    if (!f) {
        ok(0, "libvirt.so.0 is loaded from VIRT_EVENTS_EXPECT_LIBDIR",
           "cannot open /proc/self/maps");
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char *path = strchr(line, '/');
        char *slash;
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        slash = strrchr(path, '/');
        if (strncmp(slash + 1, "libvirt.so", 10) != 0)
            continue;
        if (!realpath(path, found))
            snprintf(found, sizeof(found), "%s", path);
        break;
    }
    fclose(f);
    {
        char dir[PATH_MAX];
        char *slash;
        snprintf(dir, sizeof(dir), "%s", found);
        slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        ok(found[0] && strcmp(dir, want_real) == 0,
           "libvirt.so.0 is loaded from VIRT_EVENTS_EXPECT_LIBDIR",
           "mapped library is \"%s\", expected it in \"%s\"", found, want_real);
    }
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    if (tap_failures)
        printf("# %d of %d checks failed\n", tap_failures, tap_count);
    return tap_failures ? 1 : 0;
}

#endif /* VIRT_EVENTS_TAP_H */
