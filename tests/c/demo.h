/*
 * What the demo programs (save_restore_demo.c, snapshot_demo.c) share: the
 * lifecycle callback printing each event, running the loop until the queued
 * events are delivered, and printing a failed call's error. Each demo's
 * output is compared line for line between real libvirt 9.0 and ours.
 */
#ifndef VIRT_EVENTS_DEMO_H
#define VIRT_EVENTS_DEMO_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>

static const char *const event_names[] = {"defined", "undefined", "started", "suspended",
                                          "resumed", "stopped", "shutdown", "pmsuspended", "crashed"};

static int lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)opaque;
    printf("lifecycle domain '%s' (id %d): %s (event=%d detail=%d)\n", virDomainGetName(dom),
           (int)virDomainGetID(dom), event >= 0 && event < 9 ? event_names[event] : "?", event, detail);
    return 0;
}

static void guard(int timer, void *opaque)
{
    (void)timer;
    *(int *)opaque = 1;
}

/* Runs the loop until a short guard timer fires: queued events come first. */
static void drain(void)
{
    int fired = 0;
    int timer = virEventAddTimeout(30, guard, &fired, NULL);
    while (!fired)
        virEventRunDefaultImpl();
    virEventRemoveTimeout(timer);
}

/* Opens `uri` on the default event loop with the lifecycle callback
 * registered, errors not printed by libvirt; NULL when it cannot. */
static virConnectPtr open_watched(const char *uri)
{
    virSetErrorFunc(NULL, NULL);
    virEventRegisterDefaultImpl();
    virConnectPtr conn = virConnectOpen(uri);
    if (conn)
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lifecycle), NULL, NULL);
    return conn;
}

/* Prints the error of the call `what` that failed. */
static void failed(const char *what)
{
    virErrorPtr err = virGetLastError();
    printf("# %s -> FAILED (code %d, domain %d): %s\n", what, err ? err->code : -1, err ? err->domain : -1,
           err && err->message ? err->message : "(none)");
}

#endif
