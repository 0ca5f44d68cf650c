/*
 * The end-to-end tests' watcher: opens the URI in argv[1], registers the
 * legacy lifecycle callback and one callback per seed event ID, and prints
 * one machine-readable line per event until SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static volatile sig_atomic_t run = 1;

static void stop(int sig)
{
    (void)sig;
    run = 0;
}

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
    (void)c;
    printf("%s %s %d %d %d\n", (const char *)opaque, virDomainGetName(d), (int)virDomainGetID(d), event, detail);
    fflush(stdout);
    return 0;
}

static void on_reboot(virConnectPtr c, virDomainPtr d, void *opaque)
{
    (void)c;
    (void)opaque;
    printf("reboot %s\n", virDomainGetName(d));
    fflush(stdout);
}

static void on_rtc(virConnectPtr c, virDomainPtr d, long long offset, void *opaque)
{
    (void)c;
    (void)opaque;
    printf("rtc %s %lld\n", virDomainGetName(d), offset);
    fflush(stdout);
}

static void on_watchdog(virConnectPtr c, virDomainPtr d, int action, void *opaque)
{
    (void)c;
    (void)opaque;
    printf("watchdog %s %d\n", virDomainGetName(d), action);
    fflush(stdout);
}

static void on_io_error(virConnectPtr c, virDomainPtr d, const char *path, const char *alias, int action, void *opaque)
{
    (void)c;
    (void)opaque;
    printf("ioerror %s %s %s %d\n", virDomainGetName(d), path, alias, action);
    fflush(stdout);
}

static void on_graphics(virConnectPtr c, virDomainPtr d, int phase, const virDomainEventGraphicsAddress *local,
                        const virDomainEventGraphicsAddress *remote, const char *auth,
                        const virDomainEventGraphicsSubject *subject, void *opaque)
{
    (void)c;
    (void)opaque;
    printf("graphics %s %d %d %s %s %d %s %s [%s] %d\n", virDomainGetName(d), phase, local->family, local->node,
           local->service ? local->service : "-", remote->family, remote->node, remote->service ? remote->service : "-",
           auth, subject->nidentity);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2 || virEventRegisterDefaultImpl() < 0)
        return 2;
    virConnectPtr conn = virConnectOpenReadOnly(argv[1]);
    if (!conn) {
        fprintf(stderr, "open failed: %s\n", virGetLastErrorMessage());
        return 2;
    }
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = stop;
    sigaction(SIGTERM, &action, NULL);

    int ids[6];
    int ok = virConnectDomainEventRegister(conn, on_lifecycle, (void *)"legacy", NULL) == 0;
    ids[0] = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), (void *)"lifecycle", NULL);
    ids[1] = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_reboot), NULL, NULL);
    ids[2] = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_RTC_CHANGE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_rtc), NULL, NULL);
    ids[3] = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_WATCHDOG,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_watchdog), NULL, NULL);
    ids[4] = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_IO_ERROR,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_io_error), NULL, NULL);
    ids[5] = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_GRAPHICS,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_graphics), NULL, NULL);
    for (int i = 0; i < 6; i++)
        ok = ok && ids[i] >= 0;
    if (!ok) {
        fprintf(stderr, "registration failed: %s\n", virGetLastErrorMessage());
        return 2;
    }
    virDomainPtr *domains = NULL;
    int n = virConnectListAllDomains(conn, &domains, 0);
    printf("ready %d\n", n);
    fflush(stdout);
    for (int i = 0; i < n; i++)
        virDomainFree(domains[i]);
    free(domains);

    while (run)
        virEventRunDefaultImpl();

    virConnectDomainEventDeregister(conn, on_lifecycle);
    for (int i = 0; i < 6; i++)
        virConnectDomainEventDeregisterAny(conn, ids[i]);
    return virConnectClose(conn) == 0 ? 0 : 3;
}
