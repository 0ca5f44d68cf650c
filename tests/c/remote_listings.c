/* libvirt's older enumerations on a connection to URI: the counts, the
 * listings (names and IDs), their argument checks, and maxnames at and past
 * the RPC protocol's limits, which a remote client refuses before the call.
 * Prints one line per call: its result, the names or IDs (sorted), or the
 * error (code, domain, level, message).
 *
 *   remote_listings URI
 *
 * Built against real libvirt's headers and library and against ours, the
 * tests compare its output line for line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define MAX_NAMES 70000

static char *names[MAX_NAMES];
static int ids[MAX_NAMES];

static void quiet(void *opaque, virErrorPtr error)
{
    (void)opaque;
    (void)error;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int by_value(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The result of a call; its error when it failed. */
static void result(const char *what, int rc)
{
    printf("%s %d", what, rc);
    if (rc < 0) {
        virErrorPtr e = virGetLastError();
        if (e)
            printf(" error %d %d %d %s", e->code, e->domain, e->level, e->message);
    }
    printf("\n");
    virResetLastError();
}

/* A listing's result and, when it succeeded, its names. */
static void listed(const char *what, int rc)
{
    result(what, rc);
    if (rc <= 0)
        return;
    qsort(names, rc, sizeof(names[0]), by_text);
    printf("  ");
    for (int i = 0; i < rc; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void listed_ids(int rc)
{
    result("virConnectListDomains", rc);
    if (rc <= 0)
        return;
    qsort(ids, rc, sizeof(ids[0]), by_value);
    printf("  ");
    for (int i = 0; i < rc; i++)
        printf(" %d", ids[i]);
    printf("\n");
}

/* Every listing with `max` names at most. */
static void lists(virConnectPtr conn, virNodeDevicePtr dev, int max)
{
    printf("-- maxnames %d\n", max);
    listed_ids(virConnectListDomains(conn, ids, max));
    listed("virConnectListDefinedDomains", virConnectListDefinedDomains(conn, names, max));
    listed("virConnectListNetworks", virConnectListNetworks(conn, names, max));
    listed("virConnectListDefinedNetworks", virConnectListDefinedNetworks(conn, names, max));
    listed("virConnectListStoragePools", virConnectListStoragePools(conn, names, max));
    listed("virConnectListDefinedStoragePools", virConnectListDefinedStoragePools(conn, names, max));
    listed("virNodeListDevices", virNodeListDevices(conn, NULL, names, max, 0));
    listed("virNodeListDevices scsi_host", virNodeListDevices(conn, "scsi_host", names, max, 0));
    listed("virNodeDeviceListCaps", virNodeDeviceListCaps(dev, names, max));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URI\n", argv[0]);
        return 2;
    }
    virSetErrorFunc(NULL, quiet);
    virConnectPtr conn = virConnectOpen(argv[1]);
    if (!conn) {
        result("virConnectOpen", -1);
        return 1;
    }
    virNodeDevicePtr dev = virNodeDeviceLookupByName(conn, "scsi_host1");
    if (!dev) {
        result("virNodeDeviceLookupByName", -1);
        return 1;
    }
    result("virConnectNumOfDomains", virConnectNumOfDomains(conn));
    result("virConnectNumOfDefinedDomains", virConnectNumOfDefinedDomains(conn));
    result("virConnectNumOfNetworks", virConnectNumOfNetworks(conn));
    result("virConnectNumOfDefinedNetworks", virConnectNumOfDefinedNetworks(conn));
    result("virConnectNumOfStoragePools", virConnectNumOfStoragePools(conn));
    result("virConnectNumOfDefinedStoragePools", virConnectNumOfDefinedStoragePools(conn));
    result("virNodeNumOfDevices", virNodeNumOfDevices(conn, NULL, 0));
    result("virNodeNumOfDevices scsi_host", virNodeNumOfDevices(conn, "scsi_host", 0));
    result("virNodeNumOfDevices bogus", virNodeNumOfDevices(conn, "bogus", 0));
    result("virNodeNumOfDevices flags", virNodeNumOfDevices(conn, NULL, 1));
    result("virNodeDeviceNumOfCaps", virNodeDeviceNumOfCaps(dev));

    /* One fewer than there are, all, and the limits of libvirt 9.0's
     * protocol: 16384 domains, networks and pools, 65536 node devices and
     * capabilities. */
    int sizes[] = {0, 1, 4096, 4097, 16384, 16385, 65536, 65537};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        lists(conn, dev, sizes[i]);

    printf("-- argument checks\n");
    result("virConnectListDomains negative", virConnectListDomains(conn, ids, -1));
    result("virConnectListDomains NULL", virConnectListDomains(conn, NULL, 1));
    result("virConnectListDefinedDomains negative", virConnectListDefinedDomains(conn, names, -1));
    result("virConnectListNetworks negative", virConnectListNetworks(conn, names, -1));
    result("virConnectListStoragePools NULL", virConnectListStoragePools(conn, NULL, 2));
    result("virNodeListDevices negative", virNodeListDevices(conn, NULL, names, -1, 0));
    result("virNodeListDevices flags", virNodeListDevices(conn, NULL, names, 5, 1));
    result("virNodeDeviceListCaps negative", virNodeDeviceListCaps(dev, names, -1));

    virNodeDeviceFree(dev);
    virConnectClose(conn);
    return 0;
}
