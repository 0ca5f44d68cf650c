/*
 * A callback may end its thread with pthread_exit() while the thread runs
 * virEventRunDefaultImpl(): the forced unwind passes through the library
 * (no "FATAL: exception not rethrown" abort), the joining thread carries
 * on, and the library keeps working: calls succeed and events are still
 * delivered by a loop on another thread.
 */
#include "tap.h"

#include <pthread.h>

static int exiting_calls;
static int counting_calls;
static volatile int stop_loop;

static int exit_thread_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn; (void)dom; (void)event; (void)detail; (void)opaque;
    exiting_calls++;
    pthread_exit(NULL);
    return 0;
}

static int count_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn; (void)dom; (void)event; (void)detail; (void)opaque;
    counting_calls++;
    return 0;
}

/* Runs the default loop until stop_loop is set (or the thread is exited). */
static void *run_loop(void *unused)
{
    (void)unused;
    while (!stop_loop) {
        if (virEventRunDefaultImpl() < 0)
            return (void *)1;
    }
    return NULL;
}

/* Runs the default loop on this thread until `*counter` reaches `want`. */
static int run_until(int *counter, int want)
{
    double deadline = tap_now_ms() + 5000 * tap_slowdown();
    while (*counter < want && tap_now_ms() < deadline) {
        if (virEventRunDefaultImpl() < 0)
            return -1;
    }
    return *counter;
}

int main(void)
{
    pthread_t thread;
    void *thread_result = NULL;
    virConnectPtr conn;
    virDomainPtr dom;
    int exiting_id, counting_id;

    tap_init();
    ok_int(virEventRegisterDefaultImpl(), 0, "virEventRegisterDefaultImpl");
    conn = virConnectOpen("test:///default");
    ok(conn != NULL, "virConnectOpen(test:///default)", "%s", virGetLastErrorMessage());
    dom = virDomainLookupByName(conn, "test");
    ok(dom != NULL, "the test domain exists", "%s", virGetLastErrorMessage());

    exiting_id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(exit_thread_cb), NULL, NULL);
    ok(exiting_id >= 0, "register the callback that calls pthread_exit", "%s", virGetLastErrorMessage());

    ok_int(pthread_create(&thread, NULL, run_loop, NULL), 0, "start a thread running the default loop");
    ok_int(virDomainSuspend(dom), 0, "virDomainSuspend queues a lifecycle event");
    ok_int(pthread_join(thread, &thread_result), 0, "the loop thread ends");
    ok(thread_result == PTHREAD_CANCELED || thread_result == NULL, "it ended through pthread_exit",
       "result %p", thread_result);
    ok_int(exiting_calls, 1, "the exiting callback ran once");

    /* The process is alive and the library still works. */
    ok_int(virConnectDomainEventDeregisterAny(conn, exiting_id), 0, "deregister the exiting callback");
    counting_id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                   VIR_DOMAIN_EVENT_CALLBACK(count_cb), NULL, NULL);
    ok(counting_id >= 0, "register a counting callback", "%s", virGetLastErrorMessage());
    ok_int(virDomainResume(dom), 0, "virDomainResume");
    ok_int(run_until(&counting_calls, 1), 1, "a loop on the main thread delivers the RESUMED event");
    ok_int(virConnectDomainEventDeregisterAny(conn, counting_id), 0, "deregister the counting callback");
    ok_int(virDomainFree(dom), 0, "virDomainFree");
    ok_int(virConnectClose(conn), 0, "virConnectClose closes the connection");
    stop_loop = 1;
    return tap_failures != 0;
}
