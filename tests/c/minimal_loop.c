/*
 * An application-supplied event loop registered with virEventRegisterImpl,
 * modelled on the simplistic loop of libvirt's 2010 domain-events example:
 * one handle slot and one timer slot held in globals, AddHandle/AddTimeout
 * always return id 0, and the timer callback is invoked with the timeout
 * VALUE as its first argument.  The library must cope with that.
 */
#include "tap.h"

#include <poll.h>

/* the single handle slot */
static int h_fd = -1, h_events;
static virEventHandleCallback h_cb;
static void *h_opaque;
static virFreeCallback h_ff;
static int n_add_handle, n_remove_handle;

/* the single timer slot */
static int t_active, t_timeout = -1;
static virEventTimeoutCallback t_cb;
static void *t_opaque;
static virFreeCallback t_ff;
static int n_add_timeout, n_update_timeout, n_remove_timeout, first_added_timeout = -99;

static int to_poll(int ev)
{
    return ((ev & VIR_EVENT_HANDLE_READABLE) ? POLLIN : 0) |
        ((ev & VIR_EVENT_HANDLE_WRITABLE) ? POLLOUT : 0) |
        ((ev & VIR_EVENT_HANDLE_ERROR) ? POLLERR : 0) |
        ((ev & VIR_EVENT_HANDLE_HANGUP) ? POLLHUP : 0);
}

static int from_poll(int ev)
{
    return ((ev & POLLIN) ? VIR_EVENT_HANDLE_READABLE : 0) |
        ((ev & POLLOUT) ? VIR_EVENT_HANDLE_WRITABLE : 0) |
        ((ev & POLLERR) ? VIR_EVENT_HANDLE_ERROR : 0) |
        ((ev & POLLHUP) ? VIR_EVENT_HANDLE_HANGUP : 0);
}

static int my_add_handle(int fd, int event, virEventHandleCallback cb, void *opaque,
                         virFreeCallback ff)
{
    n_add_handle++;
    h_fd = fd;
    h_events = to_poll(event);
    h_cb = cb;
    h_opaque = opaque;
    h_ff = ff;
    return 0;
}

static void my_update_handle(int watch, int event)
{
    (void)watch;
    h_events = to_poll(event);
}

static int my_remove_handle(int watch)
{
    (void)watch;
    n_remove_handle++;
    h_fd = -1;
    if (h_ff)
        h_ff(h_opaque);
    return 0;
}

static int my_add_timeout(int timeout, virEventTimeoutCallback cb, void *opaque,
                          virFreeCallback ff)
{
    n_add_timeout++;
    if (first_added_timeout == -99)
        first_added_timeout = timeout;
    logf_("addt:%d", timeout);
    t_active = 1;
    t_timeout = timeout;
    t_cb = cb;
    t_opaque = opaque;
    t_ff = ff;
    return 0;
}

static void my_update_timeout(int timer, int timeout)
{
    (void)timer;
    n_update_timeout++;
    logf_("updt:%d", timeout);
    t_timeout = timeout;
}

static int my_remove_timeout(int timer)
{
    (void)timer;
    n_remove_timeout++;
    logf_("rmt");
    t_active = 0;
    if (t_ff)
        t_ff(t_opaque);
    return 0;
}

/* One iteration of the example's loop. */
static void loop_once(void)
{
    struct pollfd pfd = {h_fd, (short)h_events, 0};
    int n = poll(&pfd, 1, 20);
    if (t_cb && t_active && t_timeout >= 0) {
        logf_("fire:%d", t_timeout);
        t_cb(t_timeout, t_opaque);
    }
    if (n > 0 && h_cb && h_fd >= 0 && (pfd.revents & h_events))
        h_cb(0, h_fd, from_poll(pfd.revents & h_events), h_opaque);
}

/* ------------------------------------------------------------------------ */

static int lc(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    logf_("%s:%s:%d/%d", (const char *)opaque, virDomainGetName(dom), event, detail);
    return 0;
}

static int lc2(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    return lc(conn, dom, event, detail, opaque);
}

static int frees;
static void count_free(void *opaque)
{
    (void)opaque;
    frees++;
}

int main(void)
{
    virConnectPtr conn;
    virDomainPtr dom;
    int id, r;

    tap_init();
    virEventRegisterImpl(my_add_handle, my_update_handle, my_remove_handle,
                         my_add_timeout, my_update_timeout, my_remove_timeout);

    conn = virConnectOpen("test:///default");
    ok(conn != NULL, "virConnectOpen(test:///default)", "%s", virGetLastErrorMessage());
    if (!conn)
        return tap_done();
    dom = virDomainLookupByName(conn, "test");
    ok(dom != NULL, "lookup test", "%s", virGetLastErrorMessage());
    if (!dom)
        return tap_done();

    ok_int(n_add_timeout, 0, "no timer is added before the first registration");

    /* Events produced while nobody listens are dropped, and do not arm a timer. */
    virDomainSuspend(dom);
    virDomainResume(dom);
    ok_int(n_add_timeout + n_update_timeout, 0,
           "domain operations without callbacks do not touch the timer");
    log_reset();

    r = virConnectDomainEventRegister(conn, lc, (void *)"L", count_free);
    ok_int(r, 0, "legacy Register through the application loop returns 0");
    ok_int(n_add_timeout, 1, "exactly one timer added at the first registration");
    ok_int(first_added_timeout, -1, "the timer is added disabled (timeout -1)");

    id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                          VIR_DOMAIN_EVENT_CALLBACK(lc2), (void *)"A",
                                          count_free);
    ok_int(id, 1, "RegisterAny returns id 1");
    ok_int(n_add_timeout, 1, "the second registration adds no timer");
    ok(n_add_handle <= 1, "at most one handle is added to the application loop",
       "%d handles added", n_add_handle);
    log_reset();

    virDomainSuspend(dom);
    ok_log("updt:0", "queueing an event sets the timer to 0 (and nothing is dispatched yet)");
    virDomainResume(dom);
    ok_log("", "a second queued event does not touch the timer again");
    ok_int(t_timeout, 0, "the timer is armed with 0");

    loop_once();
    ok_log("fire:0 updt:-1 L:test:3/0 A:test:3/0 L:test:4/0 A:test:4/0",
           "one timer firing disarms the timer (-1) and delivers both events in order");
    ok_int(t_timeout, -1, "the timer is back at -1 after the flush");

    loop_once();
    ok_log("", "a disarmed timer does not fire");

    virDomainSuspend(dom);
    loop_once();
    ok_log("updt:0 fire:0 updt:-1 L:test:3/0 A:test:3/0", "a second cycle works the same way");

    r = virConnectDomainEventDeregister(conn, lc);
    ok_int(r, 0, "legacy Deregister returns 0");
    ok_int(n_remove_timeout, 0, "the timer stays while a callback remains");
    r = virConnectDomainEventDeregisterAny(conn, id);
    ok_int(r, 0, "DeregisterAny(1) returns 0");
    ok_int(n_remove_timeout, 1, "the timer is removed when the last callback is deregistered");
    ok_int(t_active, 0, "the timer slot is inactive");
    ok_int(frees, 2, "both freecbs ran");
    log_reset();

    virDomainResume(dom);
    loop_once();
    ok_log("", "after the timer was removed nothing is queued or fired");

    id = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                          VIR_DOMAIN_EVENT_CALLBACK(lc), (void *)"D", count_free);
    ok_int(id, 2, "a new registration gets id 2");
    ok_log("addt:-1", "the next registration adds a fresh disabled timer");
    ok_int(n_add_timeout, 2, "two timers added in total");
    virDomainSuspend(dom);
    virDomainResume(dom);
    loop_once();
    ok_log("updt:0 fire:0 updt:-1 D:test:3/0 D:test:4/0",
           "lifecycle events from suspend/resume are delivered through the new timer");
    ok_int(virConnectDomainEventDeregisterAny(conn, id), 0, "DeregisterAny(2) returns 0");
    ok_int(n_remove_timeout, 2, "the second timer is removed too");
    ok_int(frees, 3, "all three freecbs ran");
    ok_int(n_add_handle, n_remove_handle, "every handle added was removed");

    virDomainFree(dom);
    ok_int(virConnectClose(conn), 0, "virConnectClose returns 0");
    return tap_done();
}
