/*
 * lifecycle: the test driver's lock-step lifecycle rate.
 *
 *   lifecycle SECONDS
 *
 * On test:///default, suspends and resumes the domain "test" over and over;
 * after each call it runs the default event loop (virEventRunDefaultImpl)
 * until that call's lifecycle event (Suspended, then Resumed) has arrived,
 * so every round trip includes the event's delivery. Prints "events N" and
 * "rate R" (lifecycle events per second). Public API only: the runner builds
 * it once against our headers and library and once against the system's
 * libvirt, and runs both alternately.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static int last_event = -1;

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn, (void)dom, (void)detail, (void)opaque;
    last_event = event;
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Runs the loop until `event` is delivered; 0 on success, -1 after 10 s
 * without it. The clock is read only once the wait has taken 1024
 * iterations: at millions of events per second the harness's own clock
 * reads (about 27 ns each on this machine's virtual clock) would otherwise
 * be a fifth of what is measured. */
static int await(int event)
{
    double give_up = 0;
    for (unsigned long spins = 1; last_event != event; spins++) {
        if (virEventRunDefaultImpl() < 0)
            return -1;
        if (spins % 1024 == 0) {
            double now = now_s();
            if (give_up == 0)
                give_up = now + 10;
            else if (now > give_up)
                return -1;
        }
    }
    last_event = -1;
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2;
    long long events = 0;

    if (virEventRegisterDefaultImpl() < 0)
        return 1;
    virConnectPtr conn = virConnectOpen("test:///default");
    virDomainPtr dom = conn ? virDomainLookupByName(conn, "test") : NULL;
    if (!dom || virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL) < 0) {
        fprintf(stderr, "lifecycle: %s\n", virGetLastErrorMessage());
        return 1;
    }
    double start = now_s(), end = start + seconds, now = start;
    while (now < end) {
        if (virDomainSuspend(dom) < 0 || await(VIR_DOMAIN_EVENT_SUSPENDED) < 0 || virDomainResume(dom) < 0 ||
            await(VIR_DOMAIN_EVENT_RESUMED) < 0) {
            fprintf(stderr, "lifecycle: after %lld events: %s\n", events, virGetLastErrorMessage());
            return 1;
        }
        events += 2;
        now = now_s();
    }
    printf("events %lld\n", events);
    printf("rate %.1f\n", events / (now - start));
    virDomainFree(dom);
    virConnectClose(conn);
    return 0;
}
