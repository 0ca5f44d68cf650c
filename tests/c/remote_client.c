/* Our library as a remote client of a daemon serving test:///default.
 *
 *   remote_client URI api        the domain API over the wire, remote
 *                                errors, and the events of our own calls
 *   remote_client URI lookup     opens URI ("-": NULL), prints its URI and
 *                                whether the domain "test" exists
 *   remote_client URI close N M  prints "ready", then runs the default loop
 *                                until the close callback reports why the
 *                                connection ended; keepalive N seconds x M
 *                                when N > 0.
 *
 * Every line is flushed at once; the exit code is 0 when all went as
 * expected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static int lifecycle_events;
static int last_event = -1;

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)opaque;
    printf("lifecycle %s %d %d\n", virDomainGetName(dom), event, detail);
    fflush(stdout);
    lifecycle_events++;
    last_event = event;
    return 0;
}

/* Runs the default loop until `count` lifecycle events arrived (5 s at most). */
static void wait_events(int count)
{
    time_t deadline = time(NULL) + 5;
    while (lifecycle_events < count && time(NULL) < deadline)
        virEventRunDefaultImpl();
}

static int api(const char *uri)
{
    virConnectPtr conn = virConnectOpen(uri);
    CHECK(conn != NULL);
    if (!conn)
        return 1;
    char *got = virConnectGetURI(conn);
    CHECK(got && strcmp(got, uri) == 0);
    free(got);
    CHECK(virConnectIsAlive(conn) == 1);

    virDomainPtr dom = virDomainLookupByName(conn, "test");
    CHECK(dom != NULL);
    /* 1 at first; each destroy and create below gives a new one. */
    int domid = (int)virDomainGetID(dom);
    CHECK(domid > 0);
    char uuid[VIR_UUID_STRING_BUFLEN];
    CHECK(virDomainGetUUIDString(dom, uuid) == 0 && strcmp(uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f") == 0);
    virDomainPtr by_id = virDomainLookupByID(conn, domid);
    CHECK(by_id && strcmp(virDomainGetName(by_id), "test") == 0);
    virDomainPtr by_uuid = virDomainLookupByUUIDString(conn, uuid);
    CHECK(by_uuid && strcmp(virDomainGetName(by_uuid), "test") == 0);

    virDomainPtr *all = NULL;
    int n = virConnectListAllDomains(conn, &all, 0);
    CHECK(n == 1);
    for (int i = 0; i < n; i++)
        virDomainFree(all[i]);
    free(all);

    virDomainInfo info;
    CHECK(virDomainGetInfo(dom, &info) == 0 && info.state == VIR_DOMAIN_RUNNING && info.nrVirtCpu == 2);
    int state = -1, reason = -1;
    CHECK(virDomainGetState(dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_RUNNING);
    char *xml = virDomainGetXMLDesc(dom, 0);
    CHECK(xml && strstr(xml, "<name>test</name>"));
    free(xml);

    /* The server's error, as it reported it. */
    virDomainPtr none = virDomainLookupByName(conn, "nosuch");
    CHECK(none == NULL);
    virErrorPtr err = virGetLastError();
    CHECK(err && err->code == VIR_ERR_NO_DOMAIN && err->domain == VIR_FROM_TEST && err->level == VIR_ERR_ERROR);
    if (err)
        printf("remote error: %d %d %s\n", err->code, err->domain, err->message);

    /* Events of our own calls come back through the daemon. */
    int id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
    CHECK(id >= 0);
    CHECK(virDomainSuspend(dom) == 0);
    wait_events(1);
    CHECK(last_event == VIR_DOMAIN_EVENT_SUSPENDED);
    CHECK(virDomainResume(dom) == 0);
    wait_events(2);
    CHECK(last_event == VIR_DOMAIN_EVENT_RESUMED);
    CHECK(virDomainDestroy(dom) == 0);
    wait_events(3);
    CHECK(last_event == VIR_DOMAIN_EVENT_STOPPED);
    CHECK(virDomainCreate(dom) == 0);
    wait_events(4);
    CHECK(last_event == VIR_DOMAIN_EVENT_STARTED);
    CHECK(virConnectDomainEventDeregisterAny(conn, id) == 0);

    virDomainFree(by_id);
    virDomainFree(by_uuid);
    virDomainFree(dom);
    CHECK(virConnectClose(conn) == 0);
    printf("api done, %d failures\n", failures);
    return failures != 0;
}

static int closed_reason = -1;

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    (void)opaque;
    closed_reason = reason;
}

static int watch_close(const char *uri, int interval, int count)
{
    virConnectPtr conn = virConnectOpenReadOnly(uri);
    CHECK(conn != NULL);
    if (!conn)
        return 1;
    CHECK(virConnectRegisterCloseCallback(conn, on_close, NULL, NULL) == 0);
    if (interval > 0)
        CHECK(virConnectSetKeepAlive(conn, interval, count) == 0);
    printf("ready\n");
    fflush(stdout);
    time_t start = time(NULL);
    while (closed_reason < 0 && time(NULL) - start < 60)
        virEventRunDefaultImpl();
    printf("closed reason %d after %ld s, alive %d\n", closed_reason, (long)(time(NULL) - start),
           virConnectIsAlive(conn));
    CHECK(virDomainLookupByName(conn, "test") == NULL);
    virErrorPtr err = virGetLastError();
    printf("then: %s\n", err ? err->message : "no error");
    fflush(stdout);
    /* As with libvirt's client: unregistering tells the server, which is
     * gone, so it fails, and the callback (with its reference on the
     * connection) stays. */
    CHECK(virConnectUnregisterCloseCallback(conn, on_close) == -1);
    err = virGetLastError();
    printf("unregister: %s\n", err ? err->message : "no error");
    fflush(stdout);
    virConnectClose(conn);
    return failures != 0;
}

static int lookup(const char *uri)
{
    virConnectPtr conn = virConnectOpen(strcmp(uri, "-") == 0 ? NULL : uri);
    if (!conn) {
        printf("open failed\n");
        return 1;
    }
    char *got = virConnectGetURI(conn);
    virDomainPtr dom = virDomainLookupByName(conn, "test");
    printf("uri %s, domain test %s\n", got ? got : "(null)", dom ? "found" : "missing");
    free(got);
    if (dom)
        virDomainFree(dom);
    virConnectClose(conn);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    if (virEventRegisterDefaultImpl() < 0)
        return 2;
    if (strcmp(argv[2], "api") == 0)
        return api(argv[1]);
    if (strcmp(argv[2], "lookup") == 0)
        return lookup(argv[1]);
    if (strcmp(argv[2], "close") == 0 && argc == 5)
        return watch_close(argv[1], atoi(argv[3]), atoi(argv[4]));
    return 2;
}
