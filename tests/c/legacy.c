/* libvirt's older enumeration functions and the domain lookups and
 * accessors over the test driver's seed state (values and messages as real
 * libvirt 9.0's; this program passes against it too). */
#include "tap.h"
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

int main(void)
{
    virConnectPtr conn = virConnectOpen("test:///default");
    if (!conn)
        return 1;
    virSetErrorFunc(NULL, tap_quiet_errfunc);
    int ids[4] = {0};
    char *names[4] = {0};

    ok_int(virConnectNumOfDomains(conn), 1, "one running domain");
    ok_int(virConnectNumOfDefinedDomains(conn), 0, "no inactive domain");
    ok_int(virConnectListDomains(conn, ids, 4), 1, "ListDomains");
    ok_int(ids[0], 1, "the running domain's ID");
    ok_int(virConnectListDomains(conn, ids, 0), 0, "ListDomains with no room");
    ok_int(virConnectListDomains(conn, NULL, 2), -1, "ListDomains into NULL");
    ok_error("ids NULL", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "ids in virConnectListDomains must not be NULL");
    ok_int(virConnectListDomains(conn, ids, -1), -1, "ListDomains with a negative size");
    ok_error("maxids", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "maxids in virConnectListDomains must be zero or greater");
    ok_int(virConnectListDefinedDomains(conn, names, 4), 0, "ListDefinedDomains");
    ok_int(virConnectListDefinedDomains(conn, NULL, 2), -1, "ListDefinedDomains into NULL");
    ok_error("names NULL", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "names in virConnectListDefinedDomains must not be NULL");

    ok_int(virConnectListNetworks(conn, names, 4), 1, "ListNetworks");
    ok_str(names[0], "default", "the active network");
    free(names[0]);
    ok_int(virConnectListDefinedNetworks(conn, names, 4), 0, "ListDefinedNetworks");
    ok_int(virConnectListNetworks(conn, NULL, 2), -1, "ListNetworks into NULL");
    ok_error("network names NULL", VIR_ERR_INVALID_ARG, VIR_FROM_NETWORK,
             "names in virConnectListNetworks must not be NULL");
    ok_int(virConnectListStoragePools(conn, names, 4), 1, "ListStoragePools");
    ok_str(names[0], "default-pool", "the active pool");
    free(names[0]);
    ok_int(virConnectListDefinedStoragePools(conn, names, 4), 0, "ListDefinedStoragePools");
    ok_int(virConnectListStoragePools(conn, names, -1), -1, "ListStoragePools with a negative size");
    ok_error("pool maxnames", VIR_ERR_INVALID_ARG, VIR_FROM_STORAGE,
             "maxnames in virConnectListStoragePools must be zero or greater");

    virDomainPtr dom = virDomainLookupByName(conn, "test");
    ok(virDomainGetConnect(dom) == conn, "GetConnect", "%p", (void *)virDomainGetConnect(dom));
    ok(virDomainGetMaxMemory(dom) == 8388608, "GetMaxMemory", "%lu", virDomainGetMaxMemory(dom));
    ok(virDomainGetMaxMemory(NULL) == 0, "GetMaxMemory fails with 0", "%lu", virDomainGetMaxMemory(NULL));
    ok_error("GetMaxMemory(NULL)", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM, "invalid domain pointer in virDomainGetMaxMemory");
    unsigned char uuid[VIR_UUID_BUFLEN];
    virDomainGetUUID(dom, uuid);
    virDomainPtr same = virDomainLookupByUUID(conn, uuid);
    ok_str(same ? virDomainGetName(same) : NULL, "test", "LookupByUUID");
    if (same)
        virDomainFree(same);
    uuid[0] ^= 1;
    ok(virDomainLookupByUUID(conn, uuid) == NULL, "an unknown UUID", "%s", "found");
    ok_error("unknown UUID", VIR_ERR_NO_DOMAIN, VIR_FROM_TEST, "Domain not found");
    ok(virDomainLookupByUUID(conn, NULL) == NULL, "a NULL UUID", "%s", "found");
    ok_error("NULL UUID", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "uuid in virDomainLookupByUUID must not be NULL");
    virDomainFree(dom);

    unsigned long version = 0;
    ok_int(virConnectGetLibVersion(conn, &version), 0, "GetLibVersion");
    ok(version == 9000000, "libvirt 9.0.0's number", "%lu", version);
    ok_int(virConnectGetLibVersion(conn, NULL), -1, "GetLibVersion into NULL");
    ok_error("libVer NULL", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "libVer in virConnectGetLibVersion must not be NULL");
    ok_int(virConnectIsEncrypted(conn), 0, "not encrypted");
    ok_int(virConnectIsSecure(conn), 1, "secure");
    ok_int(virConnectIsSecure(NULL), -1, "IsSecure(NULL)");
    ok_error("IsSecure(NULL)", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN, "invalid connection pointer in virConnectIsSecure");
    ok_int(virConnectClose(conn), 0, "closed");
    return tap_failures != 0;
}
