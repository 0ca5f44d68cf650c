/*
 * Domain-event dispatch semantics on test:///default with the default
 * event loop.  Every check performs some domain operations and then runs
 * exactly ONE virEventRunDefaultImpl() iteration, which must deliver every
 * event queued so far.  Callbacks append to a sequence log which is then
 * compared with the exact expected sequence.
 */
#include "tap.h"

#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define EV_UUID "8f07fe28-753f-4bd2-8f5b-4c3d1a2b3c01"
#define OTHER_UUID "8f07fe28-753f-4bd2-8f5b-4c3d1a2b3c02"
#define DOMXML(name, uuid) \
    "<domain type='test'><name>" name "</name><uuid>" uuid "</uuid>" \
    "<memory>8192</memory><os><type>hvm</type></os></domain>"

typedef struct {
    const char *name;
    int id;          /* callback id, when registered through RegisterAny */
    int calls;
    int frees;
} tag_t;

static virConnectPtr connA;
static int next_cb_id;   /* the id the next successful registration must consume */

static void tag_free(void *opaque)
{
    tag_t *t = opaque;
    t->frees++;
    logf_("free:%s", t->name);
}

/* Log "tag:domname(id):event/detail". */
static int lc(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    tag_t *t = opaque;
    (void)conn;
    t->calls++;
    logf_("%s:%s(%d):%d/%d", t->name, virDomainGetName(dom), (int)virDomainGetID(dom),
          event, detail);
    return 0;
}

static void iterate(void)
{
    int r = virEventRunDefaultImpl();
    if (r != 0)
        ok(0, "virEventRunDefaultImpl returns 0", "returned %d", r);
}

/* Register through RegisterAny and check the returned id is the next one. */
static int reg_any(virDomainPtr dom, virConnectDomainEventCallback cb, tag_t *t,
                   const char *what)
{
    int id = virConnectDomainEventRegisterAny(connA, dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(cb), t, tag_free);
    ok(id == next_cb_id, what, "got id %d, expected %d (%s)", id, next_cb_id,
       virGetLastErrorMessage());
    if (id >= 0)
        next_cb_id = id + 1;
    t->id = id;
    return id;
}

static int reg_legacy(virConnectDomainEventCallback cb, tag_t *t, const char *what)
{
    int r = virConnectDomainEventRegister(connA, cb, t, tag_free);
    ok(r == 0, what, "got %d, expected 0 (%s)", r, virGetLastErrorMessage());
    if (r == 0)
        next_cb_id++;     /* the legacy registration consumes an id too */
    return r;
}

static virDomainPtr lookup(const char *name)
{
    virDomainPtr d = virDomainLookupByName(connA, name);
    if (!d)
        ok(0, "lookup domain", "virDomainLookupByName(%s) failed: %s", name,
           virGetLastErrorMessage());
    return d;
}

static int domop(int r, const char *op)
{
    if (r < 0)
        ok(0, op, "failed: %s", virGetLastErrorMessage());
    return r;
}

/* ---------------------------------------------------------------------- */

static void test_ids_and_duplicates(void)
{
    tag_t L = {"legacy", -1, 0, 0}, G = {"any", -1, 0, 0}, D = {"dom", -1, 0, 0};
    tag_t R = {"reboot", -1, 0, 0}, R2 = {"reboot2", -1, 0, 0};
    tag_t dup1 = {"dup1", -1, 0, 0}, dup2 = {"dup2", -1, 0, 0}, dup3 = {"dup3", -1, 0, 0};
    virDomainPtr dtest = lookup("test");
    int r;

    reg_legacy(lc, &L, "legacy virConnectDomainEventRegister returns 0");
    reg_any(NULL, lc, &G,
            "first RegisterAny returns id 1 (the legacy registration consumed id 0)");
    ok_int(G.id, 1, "RegisterAny id is exactly 1");

    r = virConnectDomainEventRegister(connA, lc, &dup1, tag_free);
    ok_int(r, -1, "second legacy Register of the same callback fails");
    ok_error("duplicate legacy Register error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: event callback already tracked");

    r = virConnectDomainEventRegisterAny(connA, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lc), &dup2, tag_free);
    ok_int(r, -1, "second RegisterAny(NULL, LIFECYCLE) of the same callback fails");
    ok_error("duplicate RegisterAny error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: event callback already tracked");

    reg_any(dtest, lc, &D, "RegisterAny(dom) of the same callback is accepted with id 2");
    ok_int(D.id, 2, "RegisterAny(dom) id is exactly 2");

    r = virConnectDomainEventRegisterAny(connA, dtest, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lc), &dup3, tag_free);
    ok_int(r, -1, "second RegisterAny(dom, LIFECYCLE) of the same callback fails");
    ok_error("duplicate RegisterAny(dom) error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: event callback already tracked");

    R.id = virConnectDomainEventRegisterAny(connA, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                            VIR_DOMAIN_EVENT_CALLBACK(lc), &R, tag_free);
    ok_int(R.id, 3, "same callback for another event ID (REBOOT) is accepted with id 3");
    next_cb_id = 4;

    ok(dup1.frees == 0 && dup2.frees == 0 && dup3.frees == 0,
       "freecb is not called for failed (duplicate) registrations",
       "frees: %d %d %d", dup1.frees, dup2.frees, dup3.frees);

    r = virConnectDomainEventDeregisterAny(connA, R.id);
    ok_int(r, 0, "DeregisterAny(3) returns 0");
    ok_log("free:reboot", "outside dispatch freecb runs synchronously inside DeregisterAny");

    r = virConnectDomainEventDeregisterAny(connA, 3);
    ok_int(r, -1, "DeregisterAny of an already removed id fails");
    ok_error("DeregisterAny(3) again error", VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
             "invalid argument: could not find event callback 3 for deletion");

    R2.id = virConnectDomainEventRegisterAny(connA, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                             VIR_DOMAIN_EVENT_CALLBACK(lc), &R2, tag_free);
    ok_int(R2.id, 4, "ids are not reused after deregistration (next id is 4)");
    next_cb_id = 5;
    ok_int(virConnectDomainEventDeregisterAny(connA, R2.id), 0, "DeregisterAny(4) returns 0");
    ok_log("free:reboot2", "freecb of id 4 ran synchronously");

    log_reset();
    domop(virDomainSuspend(dtest), "suspend test");
    domop(virDomainResume(dtest), "resume test");
    iterate();
    ok_log("legacy:test(1):3/0 any:test(1):3/0 dom:test(1):3/0 "
           "legacy:test(1):4/0 any:test(1):4/0 dom:test(1):4/0",
           "one iteration delivers suspend+resume FIFO, callbacks in registration order");
    ok(dup1.calls == 0 && dup2.calls == 0 && dup3.calls == 0,
       "rejected duplicate registrations are never called", "calls: %d %d %d",
       dup1.calls, dup2.calls, dup3.calls);

    r = virConnectDomainEventDeregister(connA, lc);
    ok_int(r, 0, "legacy Deregister returns 0");
    ok_log("free:legacy", "legacy Deregister runs the freecb synchronously");

    r = virConnectDomainEventDeregister(connA, lc);
    ok_int(r, -1, "legacy Deregister does not find the Any registrations of the same function");
    ok_error_prefix("legacy Deregister of removed callback error", VIR_ERR_INVALID_ARG,
                    VIR_FROM_NONE, "invalid argument: event callback function 0x");

    domop(virDomainSuspend(dtest), "suspend test");
    iterate();
    ok_log("any:test(1):3/0 dom:test(1):3/0",
           "after legacy Deregister only the Any registrations are called");

    ok_int(virConnectDomainEventDeregisterAny(connA, G.id), 0, "DeregisterAny(1) returns 0");
    ok_int(virConnectDomainEventDeregisterAny(connA, D.id), 0, "DeregisterAny(2) returns 0");
    ok_log("free:any free:dom", "DeregisterAny runs each freecb synchronously, in call order");
    ok(dup1.frees == 0 && dup2.frees == 0 && dup3.frees == 0,
       "freecb of the rejected duplicates never ran", "frees: %d %d %d",
       dup1.frees, dup2.frees, dup3.frees);
    ok(L.frees == 1 && G.frees == 1 && D.frees == 1 && R.frees == 1 && R2.frees == 1,
       "each freecb ran exactly once", "frees: %d %d %d %d %d",
       L.frees, G.frees, D.frees, R.frees, R2.frees);

    domop(virDomainResume(dtest), "resume test");   /* no callbacks: dropped */
    virDomainFree(dtest);
}

/* Legacy + Any(NULL) + Any(dom) for one function; the dom filter matches by UUID. */
static void test_three_ways_and_uuid_filter(void)
{
    tag_t L = {"legacy", -1, 0, 0}, G = {"any", -1, 0, 0}, D = {"dom", -1, 0, 0};
    virDomainPtr dom1, dom2, dother, dren;

    dom1 = virDomainDefineXML(connA, DOMXML("evdom", EV_UUID));
    ok(dom1 != NULL, "define evdom", "%s", virGetLastErrorMessage());
    if (!dom1)
        return;

    reg_any(dom1, lc, &D, "RegisterAny(evdom, LIFECYCLE) gets the next id");
    reg_legacy(lc, &L, "legacy Register of the same function returns 0");
    reg_any(NULL, lc, &G, "RegisterAny(NULL, LIFECYCLE) of the same function is accepted "
            "and its id shows the legacy registration consumed one");

    domop(virDomainUndefine(dom1), "undefine evdom");
    dom2 = virDomainCreateXML(connA, DOMXML("evdom", EV_UUID), 0);
    ok(dom2 != NULL, "createXML evdom with the same UUID", "%s", virGetLastErrorMessage());
    iterate();
    ok_log("dom:evdom(-1):1/0 legacy:evdom(-1):1/0 any:evdom(-1):1/0 "
           "dom:evdom(2):2/0 legacy:evdom(2):2/0 any:evdom(2):2/0",
           "undefine + createXML: all three registrations called, dom filter survives re-creation");
    ok(D.calls == 2 && L.calls == 2 && G.calls == 2, "three start events for one CreateXML",
       "calls: dom %d legacy %d any %d", D.calls, L.calls, G.calls);

    dother = virDomainCreateXML(connA, DOMXML("evother", OTHER_UUID), 0);
    ok(dother != NULL, "createXML evother", "%s", virGetLastErrorMessage());
    iterate();
    ok_log("legacy:evother(3):2/0 any:evother(3):2/0",
           "a domain with another UUID does not reach the dom-filtered callback");

    domop(virDomainDestroy(dother), "destroy evother");
    domop(virDomainDestroy(dom2), "destroy evdom");
    iterate();
    ok_log("legacy:evother(3):5/1 any:evother(3):5/1 "
           "dom:evdom(2):5/1 legacy:evdom(2):5/1 any:evdom(2):5/1",
           "two destroys, one iteration: FIFO, filter applied per event");

    dren = virDomainCreateXML(connA, DOMXML("evrenamed", EV_UUID), 0);
    ok(dren != NULL, "createXML evrenamed with evdom's UUID", "%s", virGetLastErrorMessage());
    domop(virDomainDestroy(dren), "destroy evrenamed");
    iterate();
    ok_log("dom:evrenamed(4):2/0 legacy:evrenamed(4):2/0 any:evrenamed(4):2/0 "
           "dom:evrenamed(4):5/1 legacy:evrenamed(4):5/1 any:evrenamed(4):5/1",
           "the dom filter matches by UUID, not by name");

    ok_int(virConnectDomainEventDeregisterAny(connA, D.id), 0, "DeregisterAny(dom) returns 0");
    ok_int(virConnectDomainEventDeregister(connA, lc), 0, "Deregister(legacy) returns 0");
    ok_int(virConnectDomainEventDeregisterAny(connA, G.id), 0, "DeregisterAny(any) returns 0");
    ok_log("free:dom free:legacy free:any", "the three freecbs ran synchronously");

    virDomainFree(dom1);
    if (dom2)
        virDomainFree(dom2);
    if (dother)
        virDomainFree(dother);
    if (dren)
        virDomainFree(dren);
}

static int lc_b(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    return lc(conn, dom, event, detail, opaque);
}

static void test_fifo_order(void)
{
    tag_t a = {"a", -1, 0, 0}, b = {"b", -1, 0, 0}, c = {"c", -1, 0, 0};
    virDomainPtr dtest = lookup("test"), again;

    reg_any(NULL, lc, &a, "register a (Any, all domains)");
    reg_legacy(lc_b, &b, "register b (legacy)");
    reg_any(dtest, lc, &c, "register c (Any, domain test)");

    domop(virDomainDestroy(dtest), "destroy test");
    domop(virDomainCreate(dtest), "create test");
    iterate();
    ok_log("a:test(-1):5/1 b:test(-1):5/1 c:test(-1):5/1 "
           "a:test(5):2/0 b:test(5):2/0 c:test(5):2/0",
           "destroy then create, one iteration: STOPPED/DESTROYED then STARTED/BOOTED, "
           "each to a, b, c in registration order");
    again = lookup("test");
    ok_int(again ? (int)virDomainGetID(again) : -2, 5, "test got the new id seen in the event");

    ok_int(virConnectDomainEventDeregisterAny(connA, a.id), 0, "DeregisterAny(a)");
    ok_int(virConnectDomainEventDeregister(connA, lc_b), 0, "Deregister(b)");
    ok_int(virConnectDomainEventDeregisterAny(connA, c.id), 0, "DeregisterAny(c)");
    ok_log("free:a free:b free:c", "freecbs of a, b, c ran synchronously");
    virDomainFree(dtest);
    if (again)
        virDomainFree(again);
}

/* ---- deregistration / registration from inside a callback ------------- */

static tag_t S = {"self", -1, 0, 0}, LATE = {"late", -1, 0, 0}, NEWCB = {"new", -1, 0, 0};
static int self_r1 = 99, self_r2 = 99, self_frees_seen = -1;

static int cb_self(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    lc(conn, dom, event, detail, opaque);
    if (S.calls == 1) {
        self_r1 = virConnectDomainEventDeregisterAny(connA, S.id);
        self_r2 = virConnectDomainEventDeregisterAny(connA, LATE.id);
        NEWCB.id = virConnectDomainEventRegisterAny(connA, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    VIR_DOMAIN_EVENT_CALLBACK(lc), &NEWCB,
                                                    tag_free);
        self_frees_seen = S.frees + LATE.frees;
    }
    return 0;
}

static void test_dereg_during_dispatch(void)
{
    virDomainPtr dtest = lookup("test");
    int expect_new;

    reg_any(NULL, cb_self, &S, "register self");
    reg_any(NULL, lc, &LATE, "register late");
    expect_new = next_cb_id;

    domop(virDomainDestroy(dtest), "destroy test");
    domop(virDomainCreate(dtest), "create test");
    iterate();
    ok_log("self:test(-1):5/1 new:test(6):2/0 free:self free:late",
           "late never called; new called only for the next event; freecbs after the flush");
    ok_int(self_r1, 0, "a callback deregistering itself during dispatch gets 0");
    ok_int(self_r2, 0, "deregistering another callback during dispatch gets 0");
    ok_int(NEWCB.id, expect_new, "registering during dispatch returns the next id");
    next_cb_id = NEWCB.id + 1;
    ok_int(self_frees_seen, 0, "freecbs did not run inside the deregistering callback");
    ok(S.frees == 1 && LATE.frees == 1 && LATE.calls == 0 && NEWCB.calls == 1,
       "after virEventRunDefaultImpl returned both freecbs ran once",
       "self frees %d, late frees %d calls %d, new calls %d", S.frees, LATE.frees,
       LATE.calls, NEWCB.calls);

    ok_int(virConnectDomainEventDeregisterAny(connA, S.id), -1,
           "the self-deregistered id is gone after the flush");
    ok_int(virConnectDomainEventDeregisterAny(connA, NEWCB.id), 0, "DeregisterAny(new)");
    ok_log("free:new", "freecb(new) ran synchronously");
    virDomainFree(dtest);
}

/* ---- connections -------------------------------------------------------- */

static virConnectPtr expected_conn;
static int conn_mismatch;

static int lc_conn(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    if (conn != expected_conn)
        conn_mismatch++;
    return lc(conn, dom, event, detail, opaque);
}

static void test_close_with_callbacks(void)
{
    tag_t Z = {"z", -1, 0, 0};
    virConnectPtr C = virConnectOpen("test:///default");
    virDomainPtr dtest = lookup("test");
    int r;

    ok(C != NULL, "open a second connection C", "%s", virGetLastErrorMessage());
    if (!C)
        return;
    Z.id = virConnectDomainEventRegisterAny(C, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            VIR_DOMAIN_EVENT_CALLBACK(lc_conn), &Z, tag_free);
    ok_int(Z.id, next_cb_id, "RegisterAny on C shares the driver-wide id counter");
    next_cb_id = Z.id + 1;
    virDomainPtr held = virDomainLookupByName(C, "test");
    ok(held != NULL, "a domain object of C holds a reference too", "%s", virGetLastErrorMessage());

    r = virConnectClose(C);
    ok_int(r, 1, "virConnectClose with a callback and a domain holding references returns 1, not a count");
    virDomainFree(held);
    ok_int(Z.frees, 0, "closing the connection does not run the freecb");

    expected_conn = C;
    conn_mismatch = 0;
    domop(virDomainSuspend(dtest), "suspend test via A");
    domop(virDomainResume(dtest), "resume test via A");
    iterate();
    ok_log("z:test(6):3/0 z:test(6):4/0",
           "events keep being delivered to callbacks of the closed connection");
    ok_int(conn_mismatch, 0, "the callback receives its registration connection");

    r = virConnectDomainEventDeregisterAny(C, Z.id);
    ok_int(r, 0, "DeregisterAny on the closed connection returns 0");
    ok_log("free:z", "deregistering the last callback runs its freecb");
    virDomainFree(dtest);
}

static void test_two_connections(void)
{
    tag_t X = {"x", -1, 0, 0};
    virConnectPtr B = virConnectOpen("test:///default");
    virDomainPtr dB;

    ok(B != NULL, "open connection B", "%s", virGetLastErrorMessage());
    if (!B)
        return;
    reg_any(NULL, lc_conn, &X, "register x on connection A");
    dB = virDomainLookupByName(B, "test");
    ok(dB != NULL, "look up test through B", "%s", virGetLastErrorMessage());
    expected_conn = connA;
    conn_mismatch = 0;
    if (dB) {
        domop(virDomainSuspend(dB), "suspend via B");
        domop(virDomainResume(dB), "resume via B");
    }
    iterate();
    ok_log("x:test(6):3/0 x:test(6):4/0", "events triggered through B reach callbacks on A");
    ok_int(conn_mismatch, 0, "the callback receives connection A, not B");
    if (dB)
        virDomainFree(dB);
    ok_int(virConnectClose(B), 0, "closing B (no callbacks) returns 0");
    ok_int(virConnectDomainEventDeregisterAny(connA, X.id), 0, "DeregisterAny(x)");
    ok_log("free:x", "freecb(x) ran");
}

/* ---- the domain pointer handed to callbacks ----------------------------- */

static virDomainPtr kept;
static char kept_name[64], kept_uuid[VIR_UUID_STRING_BUFLEN];
static int kept_id = -2, kept_ref = -2;
static unsigned char kept_raw[VIR_UUID_BUFLEN];
static int later_calls, later_same_pointer, later_id = -2;

static int cb_keep(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)opaque;
    logf_("keep:%d/%d", event, detail);
    if (kept) {
        /* The application holds `kept`: a later call's domain is another
         * object, and `kept` keeps what it said. */
        later_calls++;
        later_same_pointer += dom == kept;
        later_id = (int)virDomainGetID(dom);
        return 0;
    }
    snprintf(kept_name, sizeof(kept_name), "%s", tap_s(virDomainGetName(dom)));
    kept_id = (int)virDomainGetID(dom);
    if (virDomainGetUUIDString(dom, kept_uuid) < 0)
        kept_uuid[0] = '\0';
    if (virDomainGetUUID(dom, kept_raw) < 0)
        memset(kept_raw, 0, sizeof(kept_raw));
    kept_ref = virDomainRef(dom);
    kept = dom;
    return 0;
}

static void test_domain_pointer(void)
{
    tag_t K = {"keep", -1, 0, 0};
    virDomainPtr dtest = lookup("test");
    static const unsigned char want_raw[VIR_UUID_BUFLEN] = {
        0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04,
        0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e, 0x19, 0x3f};
    char uuid_after[VIR_UUID_STRING_BUFLEN] = "";

    reg_any(NULL, cb_keep, &K, "register keep");
    domop(virDomainSuspend(dtest), "suspend test");
    iterate();
    ok_log("keep:3/0", "keep called once for SUSPENDED/PAUSED");
    ok_str(kept_name, "test", "callback domain name is test");
    ok_int(kept_id, 6, "callback domain id is the running id (6)");
    ok_str(kept_uuid, TEST_UUID, "callback domain UUID string");
    ok(memcmp(kept_raw, want_raw, VIR_UUID_BUFLEN) == 0, "callback domain raw UUID",
       "raw UUID differs");
    ok_int(kept_ref, 0, "virDomainRef on the callback's domain returns 0");

    domop(virDomainResume(dtest), "resume test");
    iterate();
    ok_log("keep:4/0", "keep called once for RESUMED/UNPAUSED");
    ok_int(later_calls, 1, "one call after the kept one");
    ok_int(later_same_pointer, 0, "a domain the application holds is not handed to a later call");
    ok_int(later_id, 6, "the later call's domain id");

    ok_int(virConnectDomainEventDeregisterAny(connA, K.id), 0, "DeregisterAny(keep)");
    log_reset();
    if (kept) {
        ok_str(virDomainGetName(kept), "test", "referenced domain survives the callback (name)");
        ok_int((int)virDomainGetID(kept), 6, "referenced domain survives the callback (id)");
        ok_int(virDomainGetUUIDString(kept, uuid_after), 0, "GetUUIDString on kept domain");
        ok_str(uuid_after, TEST_UUID, "referenced domain survives the callback (uuid)");
        ok_int(virDomainFree(kept), 0, "virDomainFree of the kept reference returns 0");
        kept = NULL;
    }
    virDomainFree(dtest);
}

int main(void)
{
    tap_init();
    tap_check_loaded_library();

    ok_int(virEventRegisterDefaultImpl(), 0, "virEventRegisterDefaultImpl returns 0");
    connA = virConnectOpen("test:///default");
    ok(connA != NULL, "virConnectOpen(test:///default)", "%s", virGetLastErrorMessage());
    if (!connA)
        return tap_done();

    test_ids_and_duplicates();
    test_three_ways_and_uuid_filter();
    test_fifo_order();
    test_dereg_during_dispatch();
    test_close_with_callbacks();
    test_two_connections();
    test_domain_pointer();

    ok_int(virConnectClose(connA), 0, "final virConnectClose returns 0");
    return tap_done();
}
