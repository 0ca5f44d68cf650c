/*
 * No event loop implementation registered in this process: event
 * registration must fail and the public virEvent* wrappers must report
 * failure.  (Nothing here may call virEventRegisterImpl or
 * virEventRegisterDefaultImpl.)
 */
#include "tap.h"

static int frees;
static void count_free(void *opaque)
{
    (void)opaque;
    frees++;
}

static int lc(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn; (void)dom; (void)event; (void)detail; (void)opaque;
    return 0;
}

static void tcb(int timer, void *opaque)
{
    (void)timer; (void)opaque;
}

static void hcb(int watch, int fd, int events, void *opaque)
{
    (void)watch; (void)fd; (void)events; (void)opaque;
}

int main(void)
{
    virConnectPtr conn;
    virDomainPtr dom;
    int r, fds[2];

    tap_init();
    conn = virConnectOpen("test:///default");
    ok(conn != NULL, "virConnectOpen(test:///default) works without an event loop", "%s",
       virGetLastErrorMessage());
    if (!conn)
        return tap_done();

    r = virConnectDomainEventRegister(conn, lc, NULL, count_free);
    ok_int(r, -1, "legacy Register fails without an event loop");
    ok_error("legacy Register error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
             "internal error: could not initialize domain event timer");

    r = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lc), NULL, count_free);
    ok_int(r, -1, "RegisterAny(NULL) fails without an event loop");
    ok_error("RegisterAny error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
             "internal error: could not initialize domain event timer");

    dom = virDomainLookupByName(conn, "test");
    ok(dom != NULL, "lookup test", "%s", virGetLastErrorMessage());
    if (dom) {
        r = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_REBOOT,
                                             VIR_DOMAIN_EVENT_CALLBACK(lc), NULL, count_free);
        ok_int(r, -1, "RegisterAny(dom, REBOOT) fails without an event loop");
        ok_error("RegisterAny(dom) error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
                 "internal error: could not initialize domain event timer");
    }
    ok_int(frees, 0, "freecb is not called for the failed registrations");

    r = virConnectDomainEventDeregister(conn, lc);
    ok_int(r, -1, "legacy Deregister finds nothing registered");
    ok_error_prefix("legacy Deregister error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
                    "invalid argument: event callback function 0x");

    r = virConnectDomainEventDeregisterAny(conn, 0);
    ok_int(r, -1, "DeregisterAny(0) finds nothing registered");
    ok_error("DeregisterAny(0) error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: could not find event callback 0 for deletion");

    /* Domain operations still work; their events are simply dropped. */
    if (dom) {
        ok_int(virDomainSuspend(dom), 0, "virDomainSuspend works without an event loop");
        ok_int(virDomainResume(dom), 0, "virDomainResume works without an event loop");
    }

    ok_int(virEventAddTimeout(0, tcb, NULL, count_free), -1,
           "virEventAddTimeout returns -1 without an implementation");
    if (pipe(fds) == 0) {
        ok_int(virEventAddHandle(fds[0], VIR_EVENT_HANDLE_READABLE, hcb, NULL, count_free), -1,
               "virEventAddHandle returns -1 without an implementation");
        close(fds[0]);
        close(fds[1]);
    }
    ok_int(virEventRemoveTimeout(1), -1, "virEventRemoveTimeout returns -1");
    ok_int(virEventRemoveHandle(1), -1, "virEventRemoveHandle returns -1");
    virEventUpdateTimeout(1, 0);      /* documented as no-ops */
    virEventUpdateHandle(1, VIR_EVENT_HANDLE_READABLE);
    ok_int(frees, 0, "no ff was called by the failed virEventAdd* calls");

    if (dom)
        ok_int(virDomainFree(dom), 0, "virDomainFree");
    ok_int(virConnectClose(conn), 0, "virConnectClose returns 0 (nothing holds a reference)");
    return tap_done();
}
