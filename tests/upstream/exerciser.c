/*
 * Preloaded into libvirt's own example event-test.c (which only watches) to
 * make test:///default produce events in that process: the in-process test
 * driver's state is shared by every connection of a process, so changes made
 * here reach the example's callbacks.
 *
 * It also says when the example has registered its callbacks (below).
 *
 * The constructor makes stdout line-buffered (so the test sees the example's
 * lines as they are printed) and starts a thread that waits for one line on
 * the FIFO named by $VIRT_EVENTS_EXERCISE, then drives the test driver:
 * domain lifecycle and metadata, a network's lifecycle, a pool refresh, and
 * a node device created and destroyed.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "exerciser: %s failed: %s\n", what, virGetLastErrorMessage());
}

static void *exercise(void *fifo_path)
{
    FILE *fifo = fopen(fifo_path, "r");
    char line[16];
    if (!fifo || !fgets(line, sizeof(line), fifo)) {
        fprintf(stderr, "exerciser: no go-ahead on %s\n", (const char *)fifo_path);
        return NULL;
    }
    fclose(fifo);

    virConnectPtr conn = virConnectOpen("test:///default");
    virDomainPtr dom = conn ? virDomainLookupByName(conn, "test") : NULL;
    check(dom != NULL, "looking up 'test'");
    if (!dom)
        return NULL;
    check(virDomainSuspend(dom) == 0, "virDomainSuspend");
    check(virDomainResume(dom) == 0, "virDomainResume");
    check(virDomainDestroy(dom) == 0, "virDomainDestroy");
    check(virDomainCreate(dom) == 0, "virDomainCreate");
    check(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "exercised", NULL, NULL, 0) == 0,
          "virDomainSetMetadata");
    virDomainFree(dom);

    virNetworkPtr net = virNetworkDefineXML(conn, "<network><name>exercised</name></network>");
    check(net != NULL, "virNetworkDefineXML");
    if (net) {
        check(virNetworkCreate(net) == 0, "virNetworkCreate");
        check(virNetworkDestroy(net) == 0, "virNetworkDestroy");
        check(virNetworkUndefine(net) == 0, "virNetworkUndefine");
        virNetworkFree(net);
    }
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "default-pool");
    check(pool != NULL && virStoragePoolRefresh(pool, 0) == 0, "virStoragePoolRefresh");
    if (pool)
        virStoragePoolFree(pool);
    virNodeDevicePtr vhba = virNodeDeviceCreateXML(
        conn,
        "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>"
        "<wwnn>2000000012345678</wwnn><wwpn>1000000012345678</wwpn></capability></capability></device>",
        0);
    check(vhba != NULL, "virNodeDeviceCreateXML");
    if (vhba) {
        check(virNodeDeviceDestroy(vhba) == 0, "virNodeDeviceDestroy");
        virNodeDeviceFree(vhba);
    }
    virConnectClose(conn);
    printf("exerciser: done\n");
    return NULL;
}

/* The example asks for keepalive right after registering its last callback:
 * the line it prints here tells the test that every registration is made
 * (rather than a pause that may be too short on a loaded machine). */
int virConnectSetKeepAlive(virConnectPtr conn, int interval, unsigned int count)
{
    int (*library)(virConnectPtr, int, unsigned int);
    *(void **)&library = dlsym(RTLD_NEXT, "virConnectSetKeepAlive");
    printf("exerciser: registered\n");
    return library ? library(conn, interval, count) : -1;
}

__attribute__((constructor)) static void start_exercising(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *fifo = getenv("VIRT_EVENTS_EXERCISE");
    pthread_t thread;
    if (fifo && pthread_create(&thread, NULL, exercise, (void *)fifo) == 0)
        pthread_detach(thread);
}
