/*
 * test:///default driver behaviour: the exact lifecycle events each domain
 * operation emits (event, detail, domain name, id), domain state/info,
 * activity/persistence, id changes, error messages for invalid transitions
 * and virConnectListAllDomains.
 *
 * Numeric values are used for virDomainState reasons and list flags so that
 * this program only depends on the functions under test; abi.c checks the
 * corresponding enum names.
 */
#include "tap.h"

#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define B2_UUID "5c4b3a29-1807-4f6e-9d8c-7b6a59483726"
#define B3_UUID "5c4b3a29-1807-4f6e-9d8c-7b6a59483727"
#define DOMXML(name, uuid) \
    "<domain type='test'><name>" name "</name><uuid>" uuid "</uuid>" \
    "<memory>8192</memory><os><type>hvm</type></os></domain>"

/* virDomainState */
enum { ST_RUNNING = 1, ST_PAUSED = 3, ST_SHUTOFF = 5 };
/* reasons */
enum { RUNNING_UNKNOWN = 0, RUNNING_BOOTED = 1, RUNNING_UNPAUSED = 5,
       PAUSED_USER = 1,
       SHUTOFF_UNKNOWN = 0, SHUTOFF_SHUTDOWN = 1, SHUTOFF_DESTROYED = 2 };
/* virConnectListAllDomainsFlags */
enum { LIST_ACTIVE = 1, LIST_INACTIVE = 2, LIST_PERSISTENT = 4, LIST_TRANSIENT = 8 };

static virConnectPtr conn;
static int reboots;

static int lc(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)c;
    (void)opaque;
    logf_("%s(%d):%d/%d", virDomainGetName(dom), (int)virDomainGetID(dom), event, detail);
    return 0;
}

static void reboot_cb(virConnectPtr c, virDomainPtr dom, void *opaque)
{
    (void)c;
    (void)opaque;
    reboots++;
    logf_("reboot:%s", virDomainGetName(dom));
}

static void guard_cb(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

/* One loop iteration; a guard timer bounds it when no event is expected. */
static void iterate(void)
{
    int g = virEventAddTimeout(200, guard_cb, NULL, NULL);
    if (virEventRunDefaultImpl() != 0)
        ok(0, "virEventRunDefaultImpl returns 0", "non-zero");
    if (g >= 0)
        virEventRemoveTimeout(g);
}

static void op_ok(int r, const char *what)
{
    ok(r == 0, what, "returned %d: %s", r, virGetLastErrorMessage());
}

static void check_state(virDomainPtr d, int state, int reason, const char *what)
{
    int s = -1, rs = -1;
    int r = virDomainGetState(d, &s, &rs, 0);
    ok(r == 0 && s == state && rs == reason, what, "GetState returned %d, state %d reason %d "
       "(expected %d/%d): %s", r, s, rs, state, reason, virGetLastErrorMessage());
}

/* Look a domain up by name and return its current id (-2 if not found). */
static int current_id(const char *name)
{
    virDomainPtr d = virDomainLookupByName(conn, name);
    int id;
    if (!d)
        return -2;
    id = (int)virDomainGetID(d);
    virDomainFree(d);
    return id;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the listed domains, sorted and space-separated. */
static void list_names(unsigned int flags, char *out, size_t len, int *count)
{
    virDomainPtr *doms = NULL;
    const char *names[64];
    int n = virConnectListAllDomains(conn, &doms, flags);
    out[0] = '\0';
    *count = n;
    if (n < 0)
        return;
    for (int i = 0; i < n && i < 64; i++)
        names[i] = virDomainGetName(doms[i]);
    qsort(names, (size_t)(n < 64 ? n : 64), sizeof(names[0]), cmp_str);
    for (int i = 0; i < n && i < 64; i++) {
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%s", i ? " " : "", names[i]);
    }
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
}

static void check_list(unsigned int flags, const char *want, const char *what)
{
    char names[512];
    int n;
    list_names(flags, names, sizeof(names), &n);
    ok(n >= 0 && strcmp(names, want) == 0, what, "got %d: \"%s\", expected \"%s\" (%s)", n,
       names, want, n < 0 ? virGetLastErrorMessage() : "");
}

static void test_initial(virDomainPtr t)
{
    virDomainInfo info;
    virDomainPtr byid, byuuid;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    char *xml;
    int n;

    ok_str(virDomainGetName(t), "test", "default domain name");
    ok_int((int)virDomainGetID(t), 1, "default domain id is 1");
    ok_int(virDomainGetUUIDString(t, uuid), 0, "GetUUIDString returns 0");
    ok_str(uuid, TEST_UUID, "default domain UUID");
    check_state(t, ST_RUNNING, RUNNING_UNKNOWN, "initial state RUNNING (reason 0)");
    memset(&info, 0, sizeof(info));
    ok_int(virDomainGetInfo(t, &info), 0, "GetInfo returns 0");
    ok(info.state == ST_RUNNING && info.maxMem == 8388608 && info.memory == 2097152 &&
       info.nrVirtCpu == 2, "GetInfo: running, maxMem 8388608 KiB, memory 2097152 KiB, 2 vcpus",
       "state %d maxMem %lu memory %lu vcpus %d", info.state, info.maxMem, info.memory,
       info.nrVirtCpu);
    ok_int(virDomainIsActive(t), 1, "test is active");
    ok_int(virDomainIsPersistent(t), 1, "test is persistent");

    byid = virDomainLookupByID(conn, 1);
    ok(byid && strcmp(virDomainGetName(byid), "test") == 0, "LookupByID(1) finds test", "%s",
       byid ? virDomainGetName(byid) : virGetLastErrorMessage());
    if (byid)
        virDomainFree(byid);
    byuuid = virDomainLookupByUUIDString(conn, TEST_UUID);
    ok(byuuid && strcmp(virDomainGetName(byuuid), "test") == 0 &&
       (int)virDomainGetID(byuuid) == 1, "LookupByUUIDString finds test with id 1", "%s",
       byuuid ? virDomainGetName(byuuid) : virGetLastErrorMessage());
    if (byuuid)
        virDomainFree(byuuid);

    xml = virDomainGetXMLDesc(t, 0);
    ok(xml && strstr(xml, "<name>test</name>") && strstr(xml, "<uuid>" TEST_UUID "</uuid>") &&
       strstr(xml, "<domain type='test' id='1'>"),
       "GetXMLDesc has the type, id, name and uuid", "%s", xml ? xml : virGetLastErrorMessage());
    free(xml);

    check_list(0, "test", "ListAllDomains(0) lists just test");
    check_list(LIST_ACTIVE, "test", "ListAllDomains(ACTIVE) lists test");
    check_list(LIST_INACTIVE, "", "ListAllDomains(INACTIVE) is empty");
    n = virConnectListAllDomains(conn, NULL, 0);
    ok_int(n, 1, "ListAllDomains with a NULL array returns the count");
}

static void test_transitions(virDomainPtr t)
{
    virDomainInfo info;

    op_ok(virDomainSuspend(t), "virDomainSuspend(test)");
    iterate();
    ok_log("test(1):3/0", "suspend emits SUSPENDED/PAUSED");
    check_state(t, ST_PAUSED, PAUSED_USER, "paused by user");
    memset(&info, 0, sizeof(info));
    virDomainGetInfo(t, &info);
    ok_int(info.state, ST_PAUSED, "GetInfo state is PAUSED");
    ok_int(virDomainIsActive(t), 1, "a paused domain is active");

    ok_int(virDomainSuspend(t), -1, "suspending a paused domain fails");
    ok_error("suspend paused error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
             "internal error: domain 'test' not running");

    op_ok(virDomainResume(t), "virDomainResume(test)");
    iterate();
    ok_log("test(1):4/0", "resume emits RESUMED/UNPAUSED");
    check_state(t, ST_RUNNING, RUNNING_UNPAUSED, "running, unpaused");

    ok_int(virDomainResume(t), -1, "resuming a running domain fails");
    ok_error("resume running error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
             "internal error: domain 'test' not paused");
    ok_int(virDomainCreate(t), -1, "starting a running domain fails");
    ok_error("create running error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
             "internal error: Domain 'test' is already running");

    op_ok(virDomainReboot(t, 0), "virDomainReboot(test)");
    iterate();
    ok_log("", "reboot emits no lifecycle (or reboot) event");
    check_state(t, ST_RUNNING, RUNNING_BOOTED, "running, booted after reboot");
    ok_int(current_id("test"), 1, "reboot keeps the id");

    op_ok(virDomainReset(t, 0), "virDomainReset(test)");
    iterate();
    ok_log("", "reset emits no event");
    ok_int(current_id("test"), 1, "reset keeps the id");

    op_ok(virDomainShutdown(t), "virDomainShutdown(test)");
    iterate();
    ok_log("test(-1):5/0", "shutdown emits STOPPED/SHUTDOWN with id -1");
    check_state(t, ST_SHUTOFF, SHUTOFF_SHUTDOWN, "shut off by shutdown");
    ok_int(virDomainIsActive(t), 0, "inactive after shutdown");
    ok_int(virDomainIsPersistent(t), 1, "still persistent");
    ok_int((int)virDomainGetID(t), -1, "the domain pointer's id is -1 after shutdown");
    ok_int(current_id("test"), -1, "a fresh lookup shows id -1");
    ok(virDomainLookupByID(conn, 1) == NULL, "LookupByID(1) fails once test is off", " ");
    ok_error("LookupByID(1) error", VIR_ERR_NO_DOMAIN, VIR_FROM_TEST, "Domain not found");
    check_list(LIST_ACTIVE, "", "no active domains");
    check_list(LIST_INACTIVE, "test", "test is listed as inactive");

    ok_int(virDomainShutdown(t), -1, "shutdown of an inactive domain fails");
    ok_error("shutdown inactive error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
             "internal error: domain 'test' not running");
    ok_int(virDomainDestroy(t), -1, "destroy of an inactive domain fails");
    ok_error("destroy inactive error", VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
             "Requested operation is not valid: domain is not running");
    ok_int(virDomainSuspend(t), -1, "suspend of an inactive domain fails");
    ok_error("suspend inactive error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
             "internal error: domain 'test' not running");
    ok_int(virDomainResume(t), -1, "resume of an inactive domain fails");
    ok_error("resume inactive error", VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
             "internal error: domain 'test' not paused");
    ok_int(virDomainReboot(t, 0), -1, "reboot of an inactive domain fails");
    ok_error("reboot inactive error", VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
             "Requested operation is not valid: domain is not running");
    ok_int(virDomainReset(t, 0), -1, "reset of an inactive domain fails");
    ok_error("reset inactive error", VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
             "Requested operation is not valid: domain is not running");
    iterate();
    ok_log("", "failed operations emit no events");

    op_ok(virDomainCreate(t), "virDomainCreate(test)");
    iterate();
    ok_log("test(2):2/0", "create emits STARTED/BOOTED with the new id 2");
    check_state(t, ST_RUNNING, RUNNING_BOOTED, "running, booted");
    ok_int((int)virDomainGetID(t), 2, "the domain pointer's id is 2");
    ok_int(current_id("test"), 2, "a fresh lookup shows id 2");

    op_ok(virDomainDestroy(t), "virDomainDestroy(test)");
    iterate();
    ok_log("test(-1):5/1", "destroy emits STOPPED/DESTROYED with id -1");
    check_state(t, ST_SHUTOFF, SHUTOFF_DESTROYED, "shut off, destroyed");

    op_ok(virDomainCreate(t), "virDomainCreate(test) again");
    iterate();
    ok_log("test(3):2/0", "each start assigns a new id (3)");

    op_ok(virDomainSuspend(t), "suspend");
    op_ok(virDomainDestroy(t), "destroy a paused domain");
    op_ok(virDomainCreate(t), "create");
    op_ok(virDomainSuspend(t), "suspend");
    op_ok(virDomainShutdown(t), "shutdown a paused domain");
    op_ok(virDomainCreate(t), "create");
    iterate();
    ok_log("test(3):3/0 test(-1):5/1 test(4):2/0 test(4):3/0 test(-1):5/0 test(5):2/0",
           "six operations, one iteration: all events in order");
    ok_int(current_id("test"), 5, "test now has id 5");
}

static void test_define_undefine(void)
{
    virDomainPtr b, b2, tr, b3;
    virDomainInfo info;

    b = virDomainDefineXML(conn, DOMXML("bench2", B2_UUID));
    ok(b != NULL, "define bench2", "%s", virGetLastErrorMessage());
    if (!b)
        return;
    iterate();
    ok_log("bench2(-1):0/0", "defining a new domain emits DEFINED/ADDED");
    ok_int(virDomainIsActive(b), 0, "bench2 is inactive");
    ok_int(virDomainIsPersistent(b), 1, "bench2 is persistent");
    ok_int((int)virDomainGetID(b), -1, "bench2 id is -1");
    check_state(b, ST_SHUTOFF, SHUTOFF_UNKNOWN, "bench2 is shut off (reason 0)");
    memset(&info, 0, sizeof(info));
    ok_int(virDomainGetInfo(b, &info), 0, "GetInfo(bench2)");
    ok(info.state == ST_SHUTOFF && info.maxMem == 8192 && info.memory == 8192 &&
       info.nrVirtCpu == 1, "bench2 info: shutoff, 8192/8192 KiB, 1 vcpu",
       "state %d maxMem %lu memory %lu vcpus %d", info.state, info.maxMem, info.memory,
       info.nrVirtCpu);
    check_list(0, "bench2 test", "ListAllDomains lists bench2 and test");
    check_list(LIST_INACTIVE, "bench2", "bench2 is the inactive one");
    check_list(LIST_PERSISTENT, "bench2 test", "both are persistent");
    check_list(LIST_TRANSIENT, "", "no transient domains");

    b2 = virDomainDefineXML(conn, DOMXML("bench2", B2_UUID));
    ok(b2 != NULL, "define bench2 again", "%s", virGetLastErrorMessage());
    iterate();
    ok_log("bench2(-1):0/1", "redefining emits DEFINED/UPDATED");
    if (b2)
        virDomainFree(b2);

    op_ok(virDomainCreate(b), "virDomainCreate(bench2)");
    iterate();
    ok_log("bench2(6):2/0", "starting bench2 emits STARTED/BOOTED with id 6");
    op_ok(virDomainDestroy(b), "virDomainDestroy(bench2)");
    iterate();
    ok_log("bench2(-1):5/1", "destroying bench2 emits STOPPED/DESTROYED");
    op_ok(virDomainUndefine(b), "virDomainUndefine(bench2)");
    iterate();
    ok_log("bench2(-1):1/0", "undefining emits UNDEFINED/REMOVED");
    ok(virDomainLookupByName(conn, "bench2") == NULL, "bench2 is gone after undefine", " ");
    ok_error("lookup of the undefined domain", VIR_ERR_NO_DOMAIN, VIR_FROM_TEST,
             "Domain not found");
    ok_int(virDomainUndefine(b), -1, "undefining it again fails");
    ok_int(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN, "... with VIR_ERR_NO_DOMAIN");
    virDomainFree(b);

    tr = virDomainCreateXML(conn, DOMXML("bench2", B2_UUID), 0);
    ok(tr != NULL, "createXML bench2 (transient)", "%s", virGetLastErrorMessage());
    if (!tr)
        return;
    iterate();
    ok_log("bench2(7):2/0", "createXML emits STARTED/BOOTED with id 7");
    ok_int(virDomainIsActive(tr), 1, "transient bench2 is active");
    ok_int(virDomainIsPersistent(tr), 0, "transient bench2 is not persistent");
    ok_int((int)virDomainGetID(tr), 7, "createXML returns the domain with its id");
    check_list(LIST_TRANSIENT, "bench2", "bench2 is listed as transient");
    check_list(LIST_ACTIVE, "bench2 test", "both are active");
    op_ok(virDomainDestroy(tr), "destroy transient bench2");
    iterate();
    ok_log("bench2(7):5/1", "destroying a transient domain emits STOPPED/DESTROYED (id 7)");
    ok(virDomainLookupByName(conn, "bench2") == NULL, "a destroyed transient domain is gone",
       " ");
    ok_int(virDomainIsActive(tr), -1, "IsActive on the vanished domain fails");
    ok_int(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN, "... with VIR_ERR_NO_DOMAIN");
    virDomainFree(tr);

    /* undefining a running persistent domain makes it transient */
    b3 = virDomainDefineXML(conn, DOMXML("bench3", B3_UUID));
    ok(b3 != NULL, "define bench3", "%s", virGetLastErrorMessage());
    if (!b3)
        return;
    op_ok(virDomainCreate(b3), "start bench3");
    op_ok(virDomainUndefine(b3), "undefine running bench3");
    iterate();
    ok_log("bench3(-1):0/0 bench3(8):2/0 bench3(8):1/0",
           "define, start and undefine-while-running events");
    ok_int(virDomainIsActive(b3), 1, "bench3 keeps running");
    ok_int(virDomainIsPersistent(b3), 0, "bench3 became transient");
    op_ok(virDomainDestroy(b3), "destroy bench3");
    iterate();
    ok_log("bench3(-1):5/1", "destroying it emits STOPPED/DESTROYED");
    ok(virDomainLookupByName(conn, "bench3") == NULL, "bench3 is gone", " ");
    virDomainFree(b3);

    check_list(0, "test", "only test remains");
}

int main(void)
{
    virDomainPtr t;
    int id, rid;

    tap_init();
    ok_int(virEventRegisterDefaultImpl(), 0, "virEventRegisterDefaultImpl returns 0");
    conn = virConnectOpen("test:///default");
    ok(conn != NULL, "virConnectOpen(test:///default)", "%s", virGetLastErrorMessage());
    if (!conn)
        return tap_done();
    id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                          VIR_DOMAIN_EVENT_CALLBACK(lc), NULL, NULL);
    ok_int(id, 0, "RegisterAny(LIFECYCLE) returns id 0");
    rid = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                           VIR_DOMAIN_EVENT_CALLBACK(reboot_cb), NULL, NULL);
    ok_int(rid, 1, "RegisterAny(REBOOT) returns id 1");

    t = virDomainLookupByName(conn, "test");
    ok(t != NULL, "lookup test", "%s", virGetLastErrorMessage());
    if (!t)
        return tap_done();

    test_initial(t);
    test_transitions(t);
    test_define_undefine();

    ok_int(reboots, 0, "the test driver never emitted a REBOOT event");
    virDomainFree(t);
    ok_int(virConnectDomainEventDeregisterAny(conn, rid), 0, "DeregisterAny(REBOOT)");
    ok_int(virConnectDomainEventDeregisterAny(conn, id), 0, "DeregisterAny(LIFECYCLE)");
    ok_int(virConnectClose(conn), 0, "virConnectClose returns 0");
    return tap_done();
}
