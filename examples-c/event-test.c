/*
 * event-test: watch libvirt domain events and print one line per event.
 *
 *   event-test [--demo] [URI]
 *
 * Registers the legacy lifecycle callback and a callback for each of the
 * six domain event IDs, runs libvirt's default event loop until SIGINT or
 * SIGTERM, then deregisters everything and closes the connection.
 *
 * With --demo, a second thread drives the test:///default driver through a
 * scripted sequence of operations (suspend, resume, shutdown, start, ...)
 * while the main thread prints the events they produce, then stops it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static volatile sig_atomic_t run = 1;

static void stop(int sig)
{
    (void)sig;
    run = 0;
}

static const char *event_name(int event)
{
    static const char *const names[] = {
        "Defined", "Undefined", "Started", "Suspended", "Resumed",
        "Stopped", "Shutdown", "PMSuspended", "Crashed",
    };
    return event >= 0 && event < (int)(sizeof(names) / sizeof(names[0])) ? names[event] : "unknown";
}

static const char *detail_name(int event, int detail)
{
    static const char *const defined[] = { "Added", "Updated", "Renamed", "Snapshot" };
    static const char *const undefined[] = { "Removed", "Renamed" };
    static const char *const started[] = { "Booted", "Migrated", "Restored", "Snapshot", "Event wakeup" };
    static const char *const suspended[] = { "Paused", "Migrated", "I/O Error", "Watchdog", "Restored",
                                             "Snapshot", "API error", "Post-copy", "Post-copy Error" };
    static const char *const resumed[] = { "Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error" };
    static const char *const stopped[] = { "Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed",
                                           "Snapshot" };
    static const char *const shutdown[] = { "Finished", "Finished after guest request",
                                            "Finished after host request" };
    static const char *const pmsuspended[] = { "Memory", "Disk" };
    static const char *const crashed[] = { "Panicked", "Crashloaded" };
#define PICK(table) (detail >= 0 && detail < (int)(sizeof(table) / sizeof(table[0])) ? table[detail] : "unknown")
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED: return PICK(defined);
    case VIR_DOMAIN_EVENT_UNDEFINED: return PICK(undefined);
    case VIR_DOMAIN_EVENT_STARTED: return PICK(started);
    case VIR_DOMAIN_EVENT_SUSPENDED: return PICK(suspended);
    case VIR_DOMAIN_EVENT_RESUMED: return PICK(resumed);
    case VIR_DOMAIN_EVENT_STOPPED: return PICK(stopped);
    case VIR_DOMAIN_EVENT_SHUTDOWN: return PICK(shutdown);
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return PICK(pmsuspended);
    case VIR_DOMAIN_EVENT_CRASHED: return PICK(crashed);
    default: return "unknown";
    }
#undef PICK
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    printf("%s EVENT: Domain %s(%d) %s %s\n", (const char *)opaque, virDomainGetName(dom),
           (int)virDomainGetID(dom), event_name(event), detail_name(event, detail));
    fflush(stdout);
    return 0;
}

static void reboot_cb(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    (void)conn;
    printf("%s EVENT: Domain %s(%d) rebooted\n", (const char *)opaque, virDomainGetName(dom), (int)virDomainGetID(dom));
    fflush(stdout);
}

static void rtc_change_cb(virConnectPtr conn, virDomainPtr dom, long long utcoffset, void *opaque)
{
    (void)conn;
    printf("%s EVENT: Domain %s(%d) rtc change %lld\n", (const char *)opaque, virDomainGetName(dom),
           (int)virDomainGetID(dom), utcoffset);
    fflush(stdout);
}

static void watchdog_cb(virConnectPtr conn, virDomainPtr dom, int action, void *opaque)
{
    static const char *const actions[] = { "none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi" };
    (void)conn;
    printf("%s EVENT: Domain %s(%d) watchdog action=%d (%s)\n", (const char *)opaque, virDomainGetName(dom),
           (int)virDomainGetID(dom), action,
           action >= 0 && action < (int)(sizeof(actions) / sizeof(actions[0])) ? actions[action] : "unknown");
    fflush(stdout);
}

static void io_error_cb(virConnectPtr conn, virDomainPtr dom, const char *src_path, const char *dev_alias,
                        int action, void *opaque)
{
    static const char *const actions[] = { "none", "pause", "report" };
    (void)conn;
    printf("%s EVENT: Domain %s(%d) io error path=%s alias=%s action=%d (%s)\n", (const char *)opaque,
           virDomainGetName(dom), (int)virDomainGetID(dom), src_path, dev_alias, action,
           action >= 0 && action < 3 ? actions[action] : "unknown");
    fflush(stdout);
}

static const char *family_name(int family)
{
    switch (family) {
    case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4: return "ipv4";
    case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6: return "ipv6";
    case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX: return "unix";
    default: return "unknown";
    }
}

static void graphics_cb(virConnectPtr conn, virDomainPtr dom, int phase, const virDomainEventGraphicsAddress *local,
                        const virDomainEventGraphicsAddress *remote, const char *auth_scheme,
                        const virDomainEventGraphicsSubject *subject, void *opaque)
{
    static const char *const phases[] = { "connected", "initialized", "disconnected" };
    (void)conn;
    printf("%s EVENT: Domain %s(%d) graphics %s local: family=%s node=%s service=%s "
           "remote: family=%s node=%s service=%s auth: %s",
           (const char *)opaque, virDomainGetName(dom), (int)virDomainGetID(dom),
           phase >= 0 && phase < 3 ? phases[phase] : "unknown", family_name(local->family), local->node,
           local->service ? local->service : "-", family_name(remote->family), remote->node,
           remote->service ? remote->service : "-", auth_scheme);
    for (int i = 0; i < subject->nidentity; i++)
        printf(" identity: %s=%s", subject->identities[i].type, subject->identities[i].name);
    printf("\n");
    fflush(stdout);
}

static void free_label(void *opaque)
{
    printf("freed [%s]\n", (const char *)opaque);
    free(opaque);
}

/* The scripted operations of --demo, on a connection of their own. */
static void *demo(void *arg)
{
    const char *uri = arg;
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn) {
        fprintf(stderr, "demo: cannot open %s: %s\n", uri, virGetLastErrorMessage());
        kill(getpid(), SIGTERM);
        return NULL;
    }
    virDomainPtr test = virDomainLookupByName(conn, "test");
    const char *second = "<domain type='test'><name>demo</name>"
                         "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid><memory>65536</memory></domain>";
    struct step {
        const char *what;
        int (*op)(virDomainPtr);
    } steps[] = {
        { "virDomainSuspend(test)", virDomainSuspend },
        { "virDomainResume(test)", virDomainResume },
        { "virDomainShutdown(test)", virDomainShutdown },
        { "virDomainCreate(test)", virDomainCreate },
        { "virDomainDestroy(test)", virDomainDestroy },
        { "virDomainCreate(test)", virDomainCreate },
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && run; i++) {
        usleep(300 * 1000);
        printf("# %s -> %s\n", steps[i].what, steps[i].op(test) == 0 ? "ok" : virGetLastErrorMessage());
        fflush(stdout);
    }
    usleep(300 * 1000);
    virDomainPtr dom = virDomainDefineXML(conn, second);
    printf("# virDomainDefineXML(demo) -> %s\n", dom ? "ok" : virGetLastErrorMessage());
    fflush(stdout);
    if (dom) {
        usleep(300 * 1000);
        printf("# virDomainCreate(demo) -> %s\n", virDomainCreate(dom) == 0 ? "ok" : virGetLastErrorMessage());
        fflush(stdout);
        usleep(300 * 1000);
        printf("# virDomainDestroy(demo) -> %s\n", virDomainDestroy(dom) == 0 ? "ok" : virGetLastErrorMessage());
        fflush(stdout);
        usleep(300 * 1000);
        printf("# virDomainUndefine(demo) -> %s\n", virDomainUndefine(dom) == 0 ? "ok" : virGetLastErrorMessage());
        fflush(stdout);
        virDomainFree(dom);
    }
    usleep(500 * 1000);
    if (test)
        virDomainFree(test);
    virConnectClose(conn);
    kill(getpid(), SIGTERM);
    return NULL;
}

int main(int argc, char **argv)
{
    int demo_mode = 0;
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--demo") == 0) {
            demo_mode = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--demo] [URI]\n", argv[0]);
            return 0;
        } else {
            uri = argv[i];
        }
    }

    if (virEventRegisterDefaultImpl() < 0) {
        fprintf(stderr, "Failed to register event implementation: %s\n", virGetLastErrorMessage());
        return 1;
    }
    virConnectPtr conn = virConnectOpenAuth(uri, virConnectAuthPtrDefault, VIR_CONNECT_RO);
    if (!conn) {
        fprintf(stderr, "error opening %s\n", uri ? uri : "the default URI");
        return 1;
    }

    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = stop; /* no SA_RESTART: the signal interrupts the loop's poll */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    struct {
        int id;
        void *cb;
        const char *label;
        int callback_id;
    } any[] = {
        { VIR_DOMAIN_EVENT_ID_LIFECYCLE, (void *)lifecycle_cb, "lifecycle", -1 },
        { VIR_DOMAIN_EVENT_ID_REBOOT, (void *)reboot_cb, "reboot", -1 },
        { VIR_DOMAIN_EVENT_ID_RTC_CHANGE, (void *)rtc_change_cb, "rtc-change", -1 },
        { VIR_DOMAIN_EVENT_ID_WATCHDOG, (void *)watchdog_cb, "watchdog", -1 },
        { VIR_DOMAIN_EVENT_ID_IO_ERROR, (void *)io_error_cb, "io-error", -1 },
        { VIR_DOMAIN_EVENT_ID_GRAPHICS, (void *)graphics_cb, "graphics", -1 },
    };
    const size_t nany = sizeof(any) / sizeof(any[0]);

    int ok = virConnectDomainEventRegister(conn, lifecycle_cb, strdup("legacy-lifecycle"), free_label) == 0;
    for (size_t i = 0; i < nany; i++) {
        any[i].callback_id = virConnectDomainEventRegisterAny(
            conn, NULL, any[i].id, (virConnectDomainEventGenericCallback)any[i].cb, strdup(any[i].label), free_label);
        ok = ok && any[i].callback_id >= 0;
    }
    if (!ok) {
        fprintf(stderr, "Failed to register event callbacks: %s\n", virGetLastErrorMessage());
        run = 0;
    } else {
        printf("Watching %s; Ctrl-C stops.\n", uri ? uri : "the default URI");
        fflush(stdout);
    }

    pthread_t driver_thread;
    int demo_started = 0;
    if (run && demo_mode) {
        /* The demo thread must not take the stop signal: the loop's poll in
         * this thread is what the signal has to interrupt. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        demo_started = pthread_create(&driver_thread, NULL, demo, (void *)(uri ? uri : "test:///default")) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }

    while (run) {
        if (virEventRunDefaultImpl() < 0)
            fprintf(stderr, "Failed to run event loop: %s\n", virGetLastErrorMessage());
    }
    if (demo_started)
        pthread_join(driver_thread, NULL);

    printf("Deregistering event callbacks\n");
    virConnectDomainEventDeregister(conn, lifecycle_cb);
    for (size_t i = 0; i < nany; i++)
        if (any[i].callback_id >= 0)
            virConnectDomainEventDeregisterAny(conn, any[i].callback_id);
    int remaining = virConnectClose(conn);
    printf("Closing connection: %s\n", remaining < 0 ? "failed" : "done");
    return remaining < 0 ? 1 : 0;
}
