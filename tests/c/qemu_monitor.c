/*
 * Raw QEMU monitor events through libvirt-qemu.so.0, watched the way
 * `virsh qemu-monitor-event` watches them.
 *
 * tests/c_programs.rs runs this with $VIRT_EVENTS_QMP_ROOT naming a
 * qemu:///embed root in which two fake QEMUs, "alpha" and "beta", are
 * listening; once this program creates ROOT/ready they send their events
 * and exit. Every delivery is printed as
 *     event TAG DOMAIN NAME SECONDS MICROS DETAILS
 * (DETAILS last, "(null)" for none) and the runner compares those lines with
 * what the fake QEMUs sent. The registration semantics are checked here.
 */
#include "tap.h"

#include <libvirt/libvirt-qemu.h>

typedef struct {
    const char *tag;
    int calls;
    int frees;
} watch_t;

static watch_t w_all = {"all", 0, 0}, w_exact = {"exact", 0, 0}, w_nocase = {"nocase", 0, 0},
               w_regex = {"regex", 0, 0}, w_caseless = {"caseless", 0, 0}, w_dom = {"dom", 0, 0},
               w_gone = {"gone", 0, 0}, w_refused = {"refused", 0, 0};
static int stopped;

static void watch_free(void *opaque)
{
    ((watch_t *)opaque)->frees++;
}

static void print_event(virDomainPtr dom, const char *event, long long seconds, unsigned int micros,
                        const char *details, void *opaque)
{
    watch_t *w = opaque;
    w->calls++;
    printf("event %s %s %s %lld %u %s\n", w->tag, virDomainGetName(dom), event, seconds, micros,
           details ? details : "(null)");
}

/* Separate functions where libvirt's duplicate check would otherwise refuse
 * a second registration without an event name. */
static void on_filtered(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
                        unsigned int micros, const char *details, void *opaque)
{
    (void)conn;
    print_event(dom, event, seconds, micros, details, opaque);
}

static void on_all(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
                   unsigned int micros, const char *details, void *opaque)
{
    (void)conn;
    print_event(dom, event, seconds, micros, details, opaque);
}

static void on_gone(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
                    unsigned int micros, const char *details, void *opaque)
{
    (void)conn;
    print_event(dom, event, seconds, micros, details, opaque);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)dom;
    (void)detail;
    (void)opaque;
    if (event == VIR_DOMAIN_EVENT_STOPPED)
        stopped++;
    return 0;
}

/* libvirt-qemu's prototypes are libvirt 9.0's. */
_Static_assert(__builtin_types_compatible_p(
                   __typeof__(&virConnectDomainQemuMonitorEventRegister),
                   int (*)(virConnectPtr, virDomainPtr, const char *,
                           void (*)(virConnectPtr, virDomainPtr, const char *, long long,
                                    unsigned int, const char *, void *),
                           void *, void (*)(void *), unsigned int)),
               "virConnectDomainQemuMonitorEventRegister");
_Static_assert(__builtin_types_compatible_p(__typeof__(&virConnectDomainQemuMonitorEventDeregister),
                                            int (*)(virConnectPtr, int)),
               "virConnectDomainQemuMonitorEventDeregister");

static int reg(virConnectPtr conn, virDomainPtr dom, const char *event,
               virConnectDomainQemuMonitorEventCallback cb, watch_t *w, unsigned int flags, int want_id)
{
    int id = virConnectDomainQemuMonitorEventRegister(conn, dom, event, cb, w, watch_free, flags);
    char what[128];
    snprintf(what, sizeof(what), "registering '%s' returns callback ID %d", w->tag, want_id);
    ok(id == want_id, what, "got %d (%s)", id, virGetLastErrorMessage());
    return id;
}

static void test_driver_has_no_support(void)
{
    virConnectPtr conn = virConnectOpen("test:///default");
    int id;
    id = virConnectDomainQemuMonitorEventRegister(conn, NULL, NULL, on_all, &w_refused, watch_free, 0);
    ok_int(id, -1, "test:///default refuses raw monitor events");
    ok_error("... with libvirt's no-support error", VIR_ERR_NO_SUPPORT, VIR_FROM_NONE,
             "this function is not supported by the connection driver: "
             "virConnectDomainQemuMonitorEventRegister");
    ok_int(virConnectDomainQemuMonitorEventDeregister(conn, 0), -1, "test:///default refuses deregistration");
    ok_error("... with libvirt's no-support error", VIR_ERR_NO_SUPPORT, VIR_FROM_NONE,
             "this function is not supported by the connection driver: "
             "virConnectDomainQemuMonitorEventDeregister");
    ok_int(w_refused.frees, 0, "a refused registration does not free its opaque");
    ok_int(virConnectClose(conn), 0, "the test connection closes");
}

static void argument_checks(virConnectPtr conn, const char *uri)
{
    virConnectPtr other = virConnectOpen(uri);
    virConnectPtr ro = virConnectOpenReadOnly(uri);
    virDomainPtr foreign = virDomainLookupByName(other, "alpha");

    ok(other && ro && foreign, "a second and a read-only connection to the root", "%s",
       virGetLastErrorMessage());
    ok_int(virConnectDomainQemuMonitorEventRegister(NULL, NULL, NULL, on_all, NULL, NULL, 0), -1,
           "NULL connection");
    ok_error("... invalid connection", VIR_ERR_INVALID_CONN, VIR_FROM_NONE,
             "invalid connection pointer in virConnectDomainQemuMonitorEventRegister");
    ok_int(virConnectDomainQemuMonitorEventRegister(conn, foreign, NULL, on_all, NULL, NULL, 0), -1,
           "a domain of another connection");
    ok_error("... must match", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "domain 'alpha' in virConnectDomainQemuMonitorEventRegister must match connection");
    ok_int(virConnectDomainQemuMonitorEventRegister(conn, NULL, NULL, NULL, NULL, NULL, 0), -1, "NULL cb");
    ok_error("... must not be NULL", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "cb in virConnectDomainQemuMonitorEventRegister must not be NULL");
    ok_int(virConnectDomainQemuMonitorEventRegister(ro, NULL, NULL, on_all, NULL, NULL, 0), -1,
           "a read-only connection");
    ok_error("... read only", VIR_ERR_OPERATION_DENIED, VIR_FROM_NONE,
             "operation forbidden: read only access prevents virConnectDomainQemuMonitorEventRegister");
    ok_int(virConnectDomainQemuMonitorEventDeregister(ro, 0), -1, "deregistering on a read-only connection");
    ok_error("... read only", VIR_ERR_OPERATION_DENIED, VIR_FROM_NONE,
             "operation forbidden: read only access prevents virConnectDomainQemuMonitorEventDeregister");
    ok_int(virConnectDomainQemuMonitorEventRegister(conn, NULL, "STOP", on_all, &w_refused, watch_free, 4),
           -1, "an unknown flag");
    ok_error("... unsupported flags", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "unsupported flags (0x4) in function virDomainQemuMonitorEventStateRegisterID");
    ok_int(virConnectDomainQemuMonitorEventRegister(conn, NULL, "(", on_all, &w_refused, watch_free,
                                                    VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX),
           -1, "an invalid regular expression");
    ok_error_prefix("... cannot compile", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
                    "invalid argument: failed to compile regex '(': ");
    ok_int(virConnectDomainQemuMonitorEventDeregister(conn, -1), -1, "a negative callback ID");
    ok_error("... must be zero or greater", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "callbackID in virConnectDomainQemuMonitorEventDeregister must be zero or greater");
    ok_int(virConnectDomainQemuMonitorEventDeregister(conn, 9999), -1, "an unknown callback ID");
    ok_error("... not found", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: could not find event callback 9999 for deletion");
    ok_int(w_refused.frees, 0, "refused registrations do not free their opaque");
    virDomainFree(foreign);
    ok_int(virConnectClose(other), 0, "the second connection closes");
    ok_int(virConnectClose(ro), 0, "the read-only connection closes");
}

int main(void)
{
    const char *root = getenv("VIRT_EVENTS_QMP_ROOT");
    char uri[4096], ready[4096];
    virConnectPtr conn;
    virDomainPtr beta;
    int lifecycle, ids[7], i;
    FILE *f;

    tap_init();
    if (!root) {
        ok(0, "VIRT_EVENTS_QMP_ROOT names the fake QEMUs' root", "it is not set");
        return tap_done();
    }
    snprintf(uri, sizeof(uri), "qemu:///embed?root=%s", root);
    snprintf(ready, sizeof(ready), "%s/ready", root);
    ok_int(virEventRegisterDefaultImpl(), 0, "the default event loop");
    test_driver_has_no_support();

    conn = virConnectOpen(uri);
    ok(conn != NULL, "the embed root opens with both fake QEMUs attached", "%s", virGetLastErrorMessage());
    if (!conn)
        return tap_done();
    beta = virDomainLookupByName(conn, "beta");
    ok(beta != NULL, "beta is attached", "%s", virGetLastErrorMessage());
    argument_checks(conn, uri);

    /* Domain-event and raw-event callback IDs share one numbering. */
    lifecycle = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
    ok_int(lifecycle, 0, "the lifecycle callback takes ID 0");
    ids[0] = reg(conn, NULL, NULL, on_all, &w_all, 0, 1);
    ids[1] = reg(conn, NULL, "SHUTDOWN", on_filtered, &w_exact, 0, 2);
    ids[2] = reg(conn, NULL, "resume", on_filtered, &w_nocase,
                 VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE, 3);
    ids[3] = reg(conn, NULL, "^BLOCK_JOB_(READY|COMPLETED)$", on_filtered, &w_regex,
                 VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX, 4);
    ids[4] = reg(conn, NULL, "^x_vendor_", on_filtered, &w_caseless,
                 VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX |
                     VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE, 5);
    ids[5] = reg(conn, beta, NULL, on_all, &w_dom, 0, 6);

    ok_int(virConnectDomainQemuMonitorEventRegister(conn, NULL, NULL, on_all, &w_refused, watch_free, 0), -1,
           "the same function again without an event name");
    ok_error("... is already tracked", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: event callback already tracked");

    /* The refused registration consumed no ID. */
    ids[6] = reg(conn, NULL, NULL, on_gone, &w_gone, 0, 7);
    ok_int(virConnectDomainQemuMonitorEventDeregister(conn, ids[6]), 0, "deregistering before any event");
    ok_int(w_gone.frees, 1, "... frees its opaque at once");

    f = fopen(ready, "w");
    ok(f != NULL, "the fake QEMUs are told to start", "cannot create %s", ready);
    if (f)
        fclose(f);
    /* Each fake QEMU exits after its events: its Stopped event comes after
     * every raw event it sent. */
    while (stopped < 2)
        virEventRunDefaultImpl();

    ok(w_all.calls > 0 && w_exact.calls > 0 && w_nocase.calls > 0 && w_regex.calls > 0 &&
           w_caseless.calls > 0 && w_dom.calls > 0,
       "every registration saw events", "all %d exact %d nocase %d regex %d caseless %d dom %d",
       w_all.calls, w_exact.calls, w_nocase.calls, w_regex.calls, w_caseless.calls, w_dom.calls);
    ok_int(w_gone.calls, 0, "the deregistered callback saw none");
    for (i = 0; i < 6; i++)
        ok_int(virConnectDomainQemuMonitorEventDeregister(conn, ids[i]), 0, "deregistering");
    ok(w_all.frees == 1 && w_exact.frees == 1 && w_nocase.frees == 1 && w_regex.frees == 1 &&
           w_caseless.frees == 1 && w_dom.frees == 1,
       "every freecb ran once", "all %d exact %d nocase %d regex %d caseless %d dom %d", w_all.frees,
       w_exact.frees, w_nocase.frees, w_regex.frees, w_caseless.frees, w_dom.frees);
    ok_int(virConnectDomainEventDeregisterAny(conn, lifecycle), 0, "the lifecycle callback goes");
    virDomainFree(beta);
    ok_int(virConnectClose(conn), 0, "the connection closes");
    return tap_done();
}
