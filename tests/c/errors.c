/*
 * Error reporting: argument validation of the event APIs, invalid
 * connection/domain pointers, lookups, the thread-local last error and its
 * accessors, per-connection errors and the error callbacks.
 */
#include "tap.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>

static int lc(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn; (void)dom; (void)event; (void)detail; (void)opaque;
    return 0;
}

static int never_registered(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                            void *opaque)
{
    (void)conn; (void)dom; (void)event; (void)detail; (void)opaque;
    return 0;
}

static int frees;
static void count_free(void *opaque)
{
    (void)opaque;
    frees++;
}

static void test_event_api_errors(virConnectPtr conn)
{
    virConnectPtr other;
    virDomainPtr dom;
    int r;

    r = virConnectDomainEventRegisterAny(conn, NULL, -1, VIR_DOMAIN_EVENT_CALLBACK(lc),
                                         NULL, count_free);
    ok_int(r, -1, "RegisterAny(eventID -1) fails");
    ok_error("RegisterAny(eventID -1) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "eventID in virConnectDomainEventRegisterAny must be zero or greater");

    r = virConnectDomainEventRegisterAny(conn, NULL, 99, VIR_DOMAIN_EVENT_CALLBACK(lc),
                                         NULL, count_free);
    ok_int(r, -1, "RegisterAny(eventID 99) fails");
    ok_error_prefix("RegisterAny(eventID 99) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                    "eventID must be less than ");

    r = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, NULL,
                                         NULL, count_free);
    ok_int(r, -1, "RegisterAny(cb NULL) fails");
    ok_error("RegisterAny(cb NULL) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "cb in virConnectDomainEventRegisterAny must not be NULL");

    r = virConnectDomainEventRegisterAny(conn, NULL, -1, NULL, NULL, count_free);
    ok_int(r, -1, "RegisterAny(eventID -1, cb NULL) fails");
    ok_error("the NULL cb is reported before the bad eventID", VIR_ERR_INVALID_ARG,
             VIR_FROM_DOMAIN, "cb in virConnectDomainEventRegisterAny must not be NULL");

    r = virConnectDomainEventRegisterAny(NULL, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lc), NULL, count_free);
    ok_int(r, -1, "RegisterAny(conn NULL) fails");
    ok_error("RegisterAny(conn NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectDomainEventRegisterAny");

    other = virConnectOpen("test:///default");
    dom = other ? virDomainLookupByName(other, "test") : NULL;
    ok(dom != NULL, "look up test on a second connection", "%s", virGetLastErrorMessage());
    if (dom) {
        r = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                             VIR_DOMAIN_EVENT_CALLBACK(lc), NULL, count_free);
        ok_int(r, -1, "RegisterAny with a domain of another connection fails");
        ok_error("RegisterAny(dom of other conn) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                 "domain 'test' must match connection");
        virDomainFree(dom);
    }
    if (other)
        virConnectClose(other);

    r = virConnectDomainEventDeregisterAny(conn, -2);
    ok_int(r, -1, "DeregisterAny(-2) fails");
    ok_error("DeregisterAny(-2) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "callbackID in virConnectDomainEventDeregisterAny must be zero or greater");

    r = virConnectDomainEventDeregisterAny(conn, 12345);
    ok_int(r, -1, "DeregisterAny(12345) fails");
    ok_error("DeregisterAny(12345) error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: could not find event callback 12345 for deletion");

    r = virConnectDomainEventDeregisterAny(NULL, 0);
    ok_int(r, -1, "DeregisterAny(conn NULL) fails");
    ok_error("DeregisterAny(conn NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectDomainEventDeregisterAny");

    r = virConnectDomainEventDeregister(conn, never_registered);
    ok_int(r, -1, "Deregister of a never registered function fails");
    {
        virErrorPtr e = virGetLastError();
        const char *pre = "invalid argument: event callback function 0x";
        const char *suf = " not registered";
        const char *m = e && e->message ? e->message : "";
        size_t lm = strlen(m), lp = strlen(pre), ls = strlen(suf);
        int shape = e && e->code == VIR_ERR_INVALID_ARG && e->domain == VIR_FROM_NONE &&
            lm > lp + ls && strncmp(m, pre, lp) == 0 && strcmp(m + lm - ls, suf) == 0;
        ok(shape, "Deregister(unknown) error: code 8, domain 0, "
           "\"invalid argument: event callback function 0x... not registered\"",
           "got code %d domain %d \"%s\"", e ? e->code : -1, e ? e->domain : -1, m);
        if (shape) {
            unsigned long long v = strtoull(m + lp - 2, NULL, 16);
            void *p = NULL;
            virConnectDomainEventCallback fn = never_registered;
            memcpy(&p, &fn, sizeof(p) < sizeof(fn) ? sizeof(p) : sizeof(fn));
            ok(v == (unsigned long long)(uintptr_t)p,
               "the message shows the function's address", "message \"%s\", function %p", m, p);
        }
    }

    r = virConnectDomainEventRegister(conn, NULL, NULL, count_free);
    ok_int(r, -1, "Register(cb NULL) fails");
    ok_error("Register(cb NULL) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "cb in virConnectDomainEventRegister must not be NULL");

    r = virConnectDomainEventDeregister(conn, NULL);
    ok_int(r, -1, "Deregister(cb NULL) fails");
    ok_error("Deregister(cb NULL) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "cb in virConnectDomainEventDeregister must not be NULL");

    r = virConnectDomainEventRegister(NULL, lc, NULL, count_free);
    ok_int(r, -1, "Register(conn NULL) fails");
    ok_error("Register(conn NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectDomainEventRegister");

    r = virConnectDomainEventDeregister(NULL, lc);
    ok_int(r, -1, "Deregister(conn NULL) fails");
    ok_error("Deregister(conn NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectDomainEventDeregister");

    ok_int(frees, 0, "no freecb ran for any failed registration");
}

static void test_pointer_errors(void)
{
    unsigned int id;
    char *s;

    ok(virDomainGetName(NULL) == NULL, "virDomainGetName(NULL) returns NULL", " ");
    ok_error("virDomainGetName(NULL) error", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM,
             "invalid domain pointer in virDomainGetName");

    id = virDomainGetID(NULL);
    ok(id == (unsigned int)-1, "virDomainGetID(NULL) returns (unsigned)-1", "got %u", id);
    ok_error("virDomainGetID(NULL) error", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM,
             "invalid domain pointer in virDomainGetID");

    ok_int(virDomainRef(NULL), -1, "virDomainRef(NULL) returns -1");
    ok_error("virDomainRef(NULL) error", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM,
             "invalid domain pointer in virDomainRef");

    ok_int(virDomainFree(NULL), -1, "virDomainFree(NULL) returns -1");
    ok_error("virDomainFree(NULL) error", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM,
             "invalid domain pointer in virDomainFree");

    ok_int(virDomainSuspend(NULL), -1, "virDomainSuspend(NULL) returns -1");
    ok_error("virDomainSuspend(NULL) error", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM,
             "invalid domain pointer in virDomainSuspend");

    ok_int(virDomainGetUUIDString(NULL, NULL), -1, "virDomainGetUUIDString(NULL) returns -1");
    ok_error("virDomainGetUUIDString(NULL) error", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM,
             "invalid domain pointer in virDomainGetUUIDString");

    ok_int(virConnectClose(NULL), -1, "virConnectClose(NULL) returns -1");
    ok_error("virConnectClose(NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_NONE,
             "invalid connection pointer in virConnectClose");

    ok_int(virConnectRef(NULL), -1, "virConnectRef(NULL) returns -1");
    ok_error("virConnectRef(NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectRef");

    s = virConnectGetURI(NULL);
    ok(s == NULL, "virConnectGetURI(NULL) returns NULL", " ");
    free(s);
    ok_error("virConnectGetURI(NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectGetURI");

    ok_int(virConnectIsAlive(NULL), -1, "virConnectIsAlive(NULL) returns -1");
    ok_error("virConnectIsAlive(NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectIsAlive");

    ok(virDomainLookupByName(NULL, "test") == NULL, "virDomainLookupByName(NULL conn) fails",
       " ");
    ok_error("virDomainLookupByName(NULL conn) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virDomainLookupByName");

    ok_int(virConnectListAllDomains(NULL, NULL, 0), -1, "virConnectListAllDomains(NULL) fails");
    ok_error("virConnectListAllDomains(NULL) error", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectListAllDomains");
}

static void test_lookup_errors(virConnectPtr conn)
{
    virDomainPtr d;
    int st;
    virDomainInfo info;

    d = virDomainLookupByName(conn, "no-such-domain");
    ok(d == NULL, "LookupByName(unknown) returns NULL", " ");
    ok_error("LookupByName(unknown) error", VIR_ERR_NO_DOMAIN, VIR_FROM_TEST,
             "Domain not found");

    d = virDomainLookupByID(conn, 999);
    ok(d == NULL, "LookupByID(999) returns NULL", " ");
    ok_error("LookupByID(999) error", VIR_ERR_NO_DOMAIN, VIR_FROM_TEST, "Domain not found");

    d = virDomainLookupByID(conn, -1);
    ok(d == NULL, "LookupByID(-1) returns NULL", " ");
    ok_error("LookupByID(-1) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "id in virDomainLookupByID must be zero or greater");

    d = virDomainLookupByUUIDString(conn, "zz");
    ok(d == NULL, "LookupByUUIDString(\"zz\") returns NULL", " ");
    ok_error("LookupByUUIDString(\"zz\") error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "Invalid UUID");

    d = virDomainLookupByUUIDString(conn, "6695eb01-f6a4-8304-79aa-97f2502e1930");
    ok(d == NULL, "LookupByUUIDString(unknown UUID) returns NULL", " ");
    ok_error("LookupByUUIDString(unknown UUID) error", VIR_ERR_NO_DOMAIN, VIR_FROM_TEST,
             "Domain not found");

    d = virDomainLookupByName(conn, NULL);
    ok(d == NULL, "LookupByName(NULL name) returns NULL", " ");
    ok_error("LookupByName(NULL name) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "name in virDomainLookupByName must not be NULL");

    d = virDomainLookupByName(conn, "test");
    ok(d != NULL, "LookupByName(test) succeeds", "%s", virGetLastErrorMessage());
    if (!d)
        return;
    ok_int(virDomainGetState(d, NULL, NULL, 0), -1, "GetState(state NULL) fails");
    ok_error("GetState(state NULL) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "state in virDomainGetState must not be NULL");
    ok_int(virDomainGetState(d, &st, NULL, 1), -1, "GetState(flags 1) fails");
    ok_error("GetState(flags 1) error", VIR_ERR_INVALID_ARG, VIR_FROM_TEST,
             "unsupported flags (0x1) in function testDomainGetState");
    ok_int(virDomainGetInfo(d, NULL), -1, "GetInfo(NULL) fails");
    ok_error("GetInfo(NULL) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "info in virDomainGetInfo must not be NULL");
    ok_int(virDomainGetUUIDString(d, NULL), -1, "GetUUIDString(buf NULL) fails");
    ok_error("GetUUIDString(buf NULL) error", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "buf in virDomainGetUUIDString must not be NULL");

    /* A successful public call resets the thread's last error. */
    ok_int(virDomainGetInfo(d, &info), 0, "GetInfo succeeds");
    ok_no_error("a successful API call clears the previous error");
    virDomainGetName(NULL);
    ok(virDomainGetName(d) != NULL, "GetName(test) succeeds", " ");
    ok_no_error("a successful virDomainGetName clears the previous error");
    virDomainFree(d);
}

/* ---- thread-local last error ------------------------------------------ */

struct thread_result {
    virConnectPtr conn;
    int saw_error_at_start;
    int own_code;
    char own_msg[256];
};

static void *thread_main(void *arg)
{
    struct thread_result *tr = arg;
    virErrorPtr e = virGetLastError();
    tr->saw_error_at_start = e != NULL;
    virConnectDomainEventDeregisterAny(tr->conn, 777);
    e = virGetLastError();
    tr->own_code = e ? e->code : -1;
    snprintf(tr->own_msg, sizeof(tr->own_msg), "%s", e && e->message ? e->message : "");
    return NULL;
}

static void test_thread_local(virConnectPtr conn)
{
    struct thread_result tr;
    pthread_t th;

    memset(&tr, 0, sizeof(tr));
    tr.conn = conn;
    virDomainLookupByName(conn, "no-such-domain");
    ok_error("main thread has an error before starting the thread", VIR_ERR_NO_DOMAIN,
             VIR_FROM_TEST, "Domain not found");
    if (pthread_create(&th, NULL, thread_main, &tr) != 0) {
        ok(0, "pthread_create", "failed");
        return;
    }
    pthread_join(th, NULL);
    ok_int(tr.saw_error_at_start, 0, "a new thread does not see the main thread's error");
    ok_int(tr.own_code, VIR_ERR_INVALID_ARG, "the thread sees its own error (code)");
    ok_str(tr.own_msg, "invalid argument: could not find event callback 777 for deletion",
           "the thread sees its own error (message)");
    ok_error("the thread's error did not replace the main thread's error", VIR_ERR_NO_DOMAIN,
             VIR_FROM_TEST, "Domain not found");
}

static void test_reset_copy(virConnectPtr conn)
{
    virError copy;
    virErrorPtr e;
    int r;

    virConnectDomainEventDeregisterAny(conn, 12345);
    e = virGetLastError();
    memset(&copy, 0, sizeof(copy));
    r = virCopyLastError(&copy);
    ok_int(r, VIR_ERR_INVALID_ARG, "virCopyLastError returns the error code");
    ok(copy.code == VIR_ERR_INVALID_ARG && copy.domain == VIR_FROM_NONE &&
       copy.level == VIR_ERR_ERROR && copy.message && e && e->message &&
       strcmp(copy.message, e->message) == 0 && copy.message != e->message,
       "virCopyLastError copies code, domain, level and a private copy of the message",
       "copy: code %d domain %d level %d message \"%s\"", copy.code, copy.domain,
       (int)copy.level, tap_s(copy.message));

    virResetLastError();
    ok(virGetLastError() == NULL, "virResetLastError clears the last error", " ");
    ok_int(virGetLastErrorCode(), VIR_ERR_OK, "virGetLastErrorCode after reset is VIR_ERR_OK");
    ok_int(virGetLastErrorDomain(), VIR_FROM_NONE, "virGetLastErrorDomain after reset is 0");
    ok_str(virGetLastErrorMessage(), "no error", "virGetLastErrorMessage after reset");
    ok_str(copy.message, "invalid argument: could not find event callback 12345 for deletion",
           "the copy survives virResetLastError");

    virResetError(&copy);
    ok(copy.code == VIR_ERR_OK && copy.domain == VIR_FROM_NONE && copy.message == NULL &&
       copy.level == VIR_ERR_NONE, "virResetError clears the copy",
       "code %d domain %d level %d message %p", copy.code, copy.domain, (int)copy.level,
       (void *)copy.message);

    memset(&copy, 0x5a, sizeof(copy));
    r = virCopyLastError(&copy);
    ok(r == 0 && copy.code == 0 && copy.domain == 0 && copy.message == NULL,
       "virCopyLastError with no error returns 0 and resets the target",
       "r %d code %d domain %d message %p", r, copy.code, copy.domain, (void *)copy.message);
}

/* ---- error callbacks and per-connection errors ------------------------- */

static int g_calls, c_calls;
static void *g_ud, *c_ud;
static int g_code, c_code;
static char g_msg[256], c_msg[256];

static void global_handler(void *ud, virErrorPtr e)
{
    g_calls++;
    g_ud = ud;
    g_code = e ? e->code : -1;
    snprintf(g_msg, sizeof(g_msg), "%s", e && e->message ? e->message : "");
}

static void conn_handler(void *ud, virErrorPtr e)
{
    c_calls++;
    c_ud = ud;
    c_code = e ? e->code : -1;
    snprintf(c_msg, sizeof(c_msg), "%s", e && e->message ? e->message : "");
}

static void test_handlers(virConnectPtr conn)
{
    static int gtoken, ctoken;
    virErrorPtr ce;
    virDomainPtr d;

    virSetErrorFunc(&gtoken, global_handler);
    virDomainGetName(NULL);
    ok(g_calls == 1 && g_ud == &gtoken && g_code == VIR_ERR_INVALID_DOMAIN &&
       strcmp(g_msg, "invalid domain pointer in virDomainGetName") == 0,
       "the virSetErrorFunc handler is called once with its userData and the error",
       "calls %d ud %p code %d msg \"%s\"", g_calls, g_ud, g_code, g_msg);

    virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, NULL, NULL,
                                     NULL);
    ok(g_calls == 2 && g_code == VIR_ERR_INVALID_ARG &&
       strcmp(g_msg, "cb in virConnectDomainEventRegisterAny must not be NULL") == 0,
       "the handler also sees event-API argument errors",
       "calls %d code %d msg \"%s\"", g_calls, g_code, g_msg);

    ok_int(virConnectDomainEventDeregisterAny(conn, 4242), -1, "DeregisterAny(4242) fails");
    ce = virConnGetLastError(conn);
    ok(ce && ce->code == VIR_ERR_INVALID_ARG && ce->message &&
       strcmp(ce->message, "invalid argument: could not find event callback 4242 for deletion")
       == 0, "virConnGetLastError holds the connection's last error",
       "got %d \"%s\"", ce ? ce->code : -1, ce ? tap_s(ce->message) : "");
    virConnResetLastError(conn);
    ce = virConnGetLastError(conn);
    ok(ce == NULL || ce->code == VIR_ERR_OK, "virConnResetLastError clears it",
       "code %d", ce ? ce->code : -1);

    virConnSetErrorFunc(conn, &ctoken, conn_handler);
    g_calls = 0;
    virConnectDomainEventDeregisterAny(conn, 4243);
    ok(c_calls == 1 && g_calls == 0 && c_ud == &ctoken && c_code == VIR_ERR_INVALID_ARG &&
       strcmp(c_msg, "invalid argument: could not find event callback 4243 for deletion") == 0,
       "a connection error goes to the virConnSetErrorFunc handler instead of the global one",
       "conn calls %d global calls %d ud %p code %d msg \"%s\"", c_calls, g_calls, c_ud,
       c_code, c_msg);

    d = virDomainLookupByName(conn, "test");
    if (d) {
        virDomainResume(d);   /* running: fails inside the driver */
        ok(c_calls == 2 && g_calls == 0 && c_code == VIR_ERR_INTERNAL_ERROR &&
           strcmp(c_msg, "internal error: domain 'test' not paused") == 0,
           "a domain operation's error goes to its connection's handler",
           "conn calls %d global calls %d code %d msg \"%s\"", c_calls, g_calls, c_code, c_msg);
        ce = virConnGetLastError(conn);
        ok(ce && ce->code == VIR_ERR_INTERNAL_ERROR, "virConnGetLastError after a domain error",
           "code %d", ce ? ce->code : -1);
    }

    virDomainGetName(NULL);
    ok(g_calls == 1 && c_calls == 2, "an error without a connection goes to the global handler",
       "global %d conn %d", g_calls, c_calls);

    virConnSetErrorFunc(conn, NULL, NULL);
    if (d) {
        virDomainResume(d);
        ok(g_calls == 2 && c_calls == 2,
           "after virConnSetErrorFunc(conn, NULL, NULL) the global handler is used again",
           "global %d conn %d", g_calls, c_calls);
        virDomainFree(d);
    }
    virSetErrorFunc(NULL, tap_quiet_errfunc);
}

/* Run fn with stderr redirected into a pipe; return what was written. */
static void capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t len)
{
    int fds[2], saved;
    ssize_t n;
    size_t got = 0;
    fflush(stderr);
    buf[0] = '\0';
    if (pipe(fds) < 0)
        return;
    saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    while (got + 1 < len && (n = read(fds[0], buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
}

static void call_default_func(void *arg)
{
    virDefaultErrorFunc(arg);
}

static void call_failing_api_without_handler(void *arg)
{
    virConnectPtr conn = arg;
    virSetErrorFunc(NULL, NULL);
    virConnectDomainEventDeregisterAny(conn, 31337);
    virSetErrorFunc(NULL, tap_quiet_errfunc);
}

static void test_default_func(virConnectPtr conn)
{
    char out[1024];
    virError copy;

    virDomainLookupByName(conn, "no-such-domain");
    memset(&copy, 0, sizeof(copy));
    virCopyLastError(&copy);
    capture_stderr(call_default_func, &copy, out, sizeof(out));
    ok_str(out, "libvirt: Test Driver error : Domain not found\n",
           "virDefaultErrorFunc output for a test-driver error");
    virResetError(&copy);

    virDomainGetName(NULL);
    virCopyLastError(&copy);
    capture_stderr(call_default_func, &copy, out, sizeof(out));
    ok_str(out, "libvirt: Domain error : invalid domain pointer in virDomainGetName\n",
           "virDefaultErrorFunc output for VIR_FROM_DOM");
    virResetError(&copy);

    virConnectDomainEventRegisterAny(conn, NULL, -1, VIR_DOMAIN_EVENT_CALLBACK(lc), NULL, NULL);
    virCopyLastError(&copy);
    capture_stderr(call_default_func, &copy, out, sizeof(out));
    ok_str(out, "libvirt: Domain Config error : eventID in virConnectDomainEventRegisterAny "
           "must be zero or greater\n", "virDefaultErrorFunc output for VIR_FROM_DOMAIN");
    virResetError(&copy);

    capture_stderr(call_failing_api_without_handler, conn, out, sizeof(out));
    ok_str(out, "libvirt:  error : invalid argument: could not find event callback 31337 "
           "for deletion\n",
           "with no handler installed the error is printed by the default handler");
}

int main(void)
{
    virConnectPtr conn;

    tap_init();
    ok_int(virInitialize(), 0, "virInitialize returns 0");
    ok_int(virEventRegisterDefaultImpl(), 0, "virEventRegisterDefaultImpl returns 0");
    ok(virGetLastError() == NULL, "no error at start", " ");
    ok_str(virGetLastErrorMessage(), "no error", "virGetLastErrorMessage with no error");
    conn = virConnectOpen("test:///default");
    ok(conn != NULL, "virConnectOpen(test:///default)", "%s", virGetLastErrorMessage());
    if (!conn)
        return tap_done();

    test_event_api_errors(conn);
    test_pointer_errors();
    test_lookup_errors(conn);
    test_thread_local(conn);
    test_reset_copy(conn);
    test_handlers(conn);
    test_default_func(conn);

    ok_int(virConnectClose(conn), 0, "virConnectClose returns 0");
    return tap_done();
}
