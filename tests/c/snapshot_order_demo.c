/*
 * The order of snapshot listings on test:///default, the ID a domain handle
 * shows after snapshot calls, and the checks of a redefinition, printed so
 * that the output of this program on real libvirt 9.0 and on ours can be
 * compared line for line (tests/c_programs.rs does). Built against the
 * system's libvirt headers.
 *
 * libvirt keeps each snapshot's children in a list and walks the tree for
 * the roots, the children, the descendants and the TOPOLOGICAL listing:
 * those are printed in the order returned. Only the plain listing of every
 * snapshot comes from a hash table whose seed is random (its order changes
 * from run to run), so it is printed sorted.
 */
#define _DEFAULT_SOURCE /* strdup */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define TOPO VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_names(const char *what, char **names, int n, int sorted)
{
    if (n < 0) {
        failed(what);
        return;
    }
    if (sorted)
        qsort(names, (size_t)n, sizeof(*names), compare);
    printf("# %s%s -> %d:", what, sorted ? " (sorted)" : "", n);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static virDomainSnapshotPtr lookup(virDomainPtr dom, const char *name)
{
    return virDomainSnapshotLookupByName(dom, name, 0);
}

/* Replaces the snapshots a ListAll call returned (n of them) by their names. */
static void take_names(virDomainSnapshotPtr *snaps, int n, char **names)
{
    for (int i = 0; i < n && i < 64; i++) {
        names[i] = strdup(virDomainSnapshotGetName(snaps[i]));
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
}

/* The domain's listings, by name and as objects. */
static void domain_list(virDomainPtr dom, const char *label, unsigned int flags)
{
    char what[160];
    char *names[64];
    int sorted = !(flags & (TOPO | VIR_DOMAIN_SNAPSHOT_LIST_ROOTS));
    snprintf(what, sizeof(what), "ListNames %s", label);
    print_names(what, names, virDomainSnapshotListNames(dom, names, 64, flags), sorted);

    virDomainSnapshotPtr *snaps = NULL;
    int n = virDomainListAllSnapshots(dom, &snaps, flags);
    take_names(snaps, n, names);
    snprintf(what, sizeof(what), "ListAllSnapshots %s", label);
    print_names(what, names, n, sorted);
}

/* A snapshot's children and descendants, by name and as objects. */
static void children_list(virDomainPtr dom, const char *of, const char *label, unsigned int flags)
{
    char what[160];
    char *names[64];
    virDomainSnapshotPtr snap = lookup(dom, of);
    if (!snap) {
        failed(of);
        return;
    }
    snprintf(what, sizeof(what), "ListChildrenNames(%s) %s", of, label);
    print_names(what, names, virDomainSnapshotListChildrenNames(snap, names, 64, flags), 0);

    virDomainSnapshotPtr *snaps = NULL;
    int n = virDomainSnapshotListAllChildren(snap, &snaps, flags);
    take_names(snaps, n, names);
    snprintf(what, sizeof(what), "ListAllChildren(%s) %s", of, label);
    print_names(what, names, n, 0);
    virDomainSnapshotFree(snap);
}

/* Every listing whose order libvirt fixes, for the whole tree. */
static void show_orders(virDomainPtr dom, const char *step)
{
    printf("## %s\n", step);
    domain_list(dom, "0", 0);
    domain_list(dom, "ROOTS", VIR_DOMAIN_SNAPSHOT_LIST_ROOTS);
    domain_list(dom, "TOPOLOGICAL", TOPO);
    domain_list(dom, "TOPOLOGICAL|LEAVES", TOPO | VIR_DOMAIN_SNAPSHOT_LIST_LEAVES);
    domain_list(dom, "TOPOLOGICAL|NO_LEAVES", TOPO | VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES);
    domain_list(dom, "TOPOLOGICAL|INACTIVE", TOPO | VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE);
    domain_list(dom, "ROOTS|TOPOLOGICAL", VIR_DOMAIN_SNAPSHOT_LIST_ROOTS | TOPO);
    char *names[64];
    int n = virDomainSnapshotListNames(dom, names, 64, TOPO);
    for (int i = 0; i < n && i < 64; i++) {
        virDomainSnapshotPtr snap = lookup(dom, names[i]);
        if (virDomainSnapshotNumChildren(snap, 0) > 0) {
            children_list(dom, names[i], "0", 0);
            children_list(dom, names[i], "DESCENDANTS", VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS);
            children_list(dom, names[i], "TOPOLOGICAL", TOPO);
            children_list(dom, names[i], "DESCENDANTS|TOPOLOGICAL|LEAVES",
                          VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS | TOPO | VIR_DOMAIN_SNAPSHOT_LIST_LEAVES);
        }
        virDomainSnapshotFree(snap);
        free(names[i]);
    }
}

static void create(virDomainPtr dom, const char *name, unsigned int flags)
{
    char xml[128];
    snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
    virDomainSnapshotPtr snap = virDomainSnapshotCreateXML(dom, xml, flags);
    if (!snap)
        failed(name);
    else
        virDomainSnapshotFree(snap);
    drain();
}

/* Calls `op` (revert, delete) on snapshot `name` looked up through `via`
 * (a domain handle: the one the snapshot's handle holds). */
static void on_snapshot(virDomainPtr via, const char *name, int (*op)(virDomainSnapshotPtr, unsigned int),
                        unsigned int flags)
{
    virDomainSnapshotPtr snap = lookup(via, name);
    if (!snap || op(snap, flags) < 0)
        failed(name);
    if (snap)
        virDomainSnapshotFree(snap);
    drain();
}

static void revert(virDomainPtr via, const char *name, unsigned int flags)
{
    on_snapshot(via, name, virDomainRevertToSnapshot, flags);
}

static void delete(virDomainPtr via, const char *name, unsigned int flags)
{
    on_snapshot(via, name, virDomainSnapshotDelete, flags);
}

static void show_ids(const char *after, virConnectPtr conn, virDomainPtr a, virDomainPtr b)
{
    virDomainPtr fresh = virDomainLookupByName(conn, "test");
    int state = -1, reason = -1;
    virDomainGetState(fresh, &state, &reason, 0);
    printf("# after %s: handle a %d, handle b %d, a new lookup %d; state %d/%d\n", after, (int)virDomainGetID(a),
           (int)virDomainGetID(b), (int)virDomainGetID(fresh), state, reason);
    virDomainFree(fresh);
}

#define STATE_TIME "<state>%s</state><creationTime>5</creationTime>"
#define DOMAIN(uuid) "<domain type='test'><name>zz</name>" uuid "<memory>1024</memory><os><type>hvm</type></os></domain>"
#define OWN_UUID "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
/* A definition to compare with the domain's own (virt type, name, memory, vCPUs). */
#define DEVICES                                                                                                \
    "<devices><disk type='file' device='disk'><source file='/guest/diskimage1'/><target dev='vda' bus='virtio'/>" \
    "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></disk>"                         \
    "<interface type='network'><mac address='aa:bb:cc:dd:ee:ff'/><source network='default'/>"                    \
    "<target dev='testnet0'/><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>"        \
    "</interface><memballoon model='virtio'><address type='pci' domain='0x0000' bus='0x00' slot='0x02' "        \
    "function='0x0'/></memballoon></devices>"
#define ABI(type, name, memory, current, vcpus)                                                                \
    "<domain type='" type "'><name>" name "</name>" OWN_UUID "<memory>" memory "</memory><currentMemory>"         \
    current "</currentMemory><vcpu>" vcpus "</vcpu><os><type arch='i686'>hvm</type></os>" DEVICES "</domain>"
#define SAME_DOMAIN ABI("test", "test", "8388608", "2097152", "2")
#define SAME_DOMAIN_IN_MIB                                                                                     \
    "<domain type='test'><name>test</name>" OWN_UUID "<memory unit='MiB'>8192</memory>"                           \
    "<currentMemory unit='KiB'>2097152</currentMemory><vcpu>2</vcpu><os><type arch='i686'>hvm</type></os>" DEVICES \
    "</domain>"

static void redefine(virDomainPtr dom, const char *what, const char *name, const char *parent, const char *state,
                     const char *domain, unsigned int flags)
{
    char xml[2048];
    char parent_xml[128] = "";
    if (parent)
        snprintf(parent_xml, sizeof(parent_xml), "<parent><name>%s</name></parent>", parent);
    snprintf(xml, sizeof(xml), "<domainsnapshot>%s%s%s%s" STATE_TIME "%s</domainsnapshot>", name ? "<name>" : "",
             name ? name : "", name ? "</name>" : "", parent_xml, state, domain);
    virDomainSnapshotPtr snap = virDomainSnapshotCreateXML(dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | flags);
    if (!snap) {
        failed(what);
        return;
    }
    virDomainSnapshotPtr parent_snap = virDomainSnapshotGetParent(snap, 0);
    printf("# %s -> %s, parent %s, current %d\n", what, virDomainSnapshotGetName(snap),
           parent_snap ? virDomainSnapshotGetName(parent_snap) : "(none)", virDomainSnapshotIsCurrent(snap, 0));
    if (parent_snap)
        virDomainSnapshotFree(parent_snap);
    virResetLastError();
    char *desc = virDomainSnapshotGetXMLDesc(snap, 0);
    printf("#   its definition is %s\n", !desc                             ? "(none)"
                                       : strstr(desc, "<name>zz</name>")   ? "zz's"
                                       : strstr(desc, "<name>test</name>") ? "the domain's"
                                                                           : "another");
    free(desc);
    virDomainSnapshotFree(snap);
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "test:///default";
    virConnectPtr conn = open_watched(uri);
    if (!conn)
        return 1;
    virDomainPtr dom = virDomainLookupByName(conn, "test");
    virDomainPtr other = virDomainLookupByName(conn, "test");

    /* A chain of twelve, then siblings made by reverting. */
    const char *chain[] = {"c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10", "c11", "c12"};
    for (size_t i = 0; i < sizeof(chain) / sizeof(*chain); i++)
        create(dom, chain[i], 0);
    show_orders(dom, "a chain of twelve");
    revert(dom, "c03", 0);
    const char *siblings[] = {"zeta", "alpha", "mid", "beta", "omega", "kappa", "x1", "a9"};
    for (size_t i = 0; i < sizeof(siblings) / sizeof(*siblings); i++) {
        revert(dom, "c03", 0);
        create(dom, siblings[i], 0);
    }
    revert(dom, "mid", 0);
    create(dom, "mid-1", 0);
    create(dom, "mid-2", 0);
    revert(dom, "mid", 0);
    create(dom, "mid-b", 0);
    virDomainSuspend(dom);
    create(dom, "paused-1", 0);
    virDomainResume(dom);
    create(dom, "halted", VIR_DOMAIN_SNAPSHOT_CREATE_HALT);
    create(dom, "off-1", 0);
    create(dom, "off-2", 0);
    show_orders(dom, "siblings under c03, a subtree under mid, offline ones");

    /* Deleting: children move to the parent, in front, in their order. */
    delete(dom, "mid", 0);
    show_orders(dom, "mid deleted");
    delete(dom, "c03", 0);
    show_orders(dom, "c03 deleted");
    delete(dom, "c01", 0);
    show_orders(dom, "c01 (a root) deleted");
    delete(dom, "c04", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    delete(dom, "mid-b", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    show_orders(dom, "c04's children and mid-b with its own deleted");

    /* Redefining: an existing snapshot moves to the front of its parent's
     * children, a new one goes in front; the checks. */
    redefine(dom, "redefine alpha", "alpha", "c02", "running", SAME_DOMAIN, 0);
    redefine(dom, "redefine kappa under zeta", "kappa", "zeta", "running", SAME_DOMAIN, 0);
    redefine(dom, "redefine kappa, another machine", "kappa", "zeta", "running", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine, no definition", "kappa", "zeta", "running", "", 0);
    redefine(dom, "redefine kappa as the domain, MiB", "kappa", "zeta", "running", SAME_DOMAIN_IN_MIB, 0);
    redefine(dom, "redefine kappa, virt type", "kappa", "zeta", "running", ABI("kvm", "test", "8388608", "2097152", "2"), 0);
    redefine(dom, "redefine kappa, max memory", "kappa", "zeta", "running", ABI("test", "test", "4", "4", "2"), 0);
    redefine(dom, "redefine kappa, current memory", "kappa", "zeta", "running",
             ABI("test", "test", "8388608", "4", "2"), 0);
    redefine(dom, "redefine kappa, current memory not given", "kappa", "zeta", "running",
             "<domain type='test'><name>test</name>" OWN_UUID "<memory>8388608</memory><vcpu>2</vcpu>"
             "<os><type arch='i686'>hvm</type></os></domain>", 0);
    redefine(dom, "redefine kappa, vCPUs", "kappa", "zeta", "running", ABI("test", "test", "8388608", "2097152", "1"), 0);
    redefine(dom, "redefine kappa, vCPUs and memory", "kappa", "zeta", "running", ABI("test", "test", "1", "1", "1"), 0);
    redefine(dom, "redefine new root r1", "r1", NULL, "shutoff", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine new r2 under c02, CURRENT", "r2", "c02", "paused", DOMAIN(OWN_UUID),
             VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT);
    redefine(dom, "redefine beta, no domain (keeps its own)", "beta", "c02", "paused", "", 0);
    redefine(dom, "redefine new, no domain", "n1", NULL, "running", "", 0);
    redefine(dom, "redefine new, untyped domain", "n1", NULL, "running", "<domain>" OWN_UUID "</domain>", 0);
    redefine(dom, "redefine new, another uuid", "n1", NULL, "running",
             DOMAIN("<uuid>11111111-2222-3333-4444-555555555555</uuid>"), 0);
    redefine(dom, "redefine new, no uuid", "n1", NULL, "running", DOMAIN(""), 0);
    redefine(dom, "redefine new, malformed uuid", "n1", NULL, "running", DOMAIN("<uuid>xyz</uuid>"), 0);
    redefine(dom, "redefine new, nameless domain", "n1", NULL, "running",
             "<domain type='test'>" OWN_UUID "<memory>1024</memory></domain>", 0);
    redefine(dom, "redefine new, no OS type", "n1", NULL, "running",
             "<domain type='test'><name>zz</name>" OWN_UUID "<memory>1024</memory></domain>", 0);
    redefine(dom, "redefine new, no memory", "n1", NULL, "running",
             "<domain type='test'><name>zz</name>" OWN_UUID "<os><type>hvm</type></os></domain>", 0);
    redefine(dom, "redefine new, no uuid, OS type or memory", "n1", NULL, "running",
             "<domain type='test'><name>zz</name></domain>", 0);
    redefine(dom, "redefine new, malformed uuid, no OS type", "n1", NULL, "running",
             "<domain type='test'><name>zz</name><uuid>xyz</uuid></domain>", 0);
    redefine(dom, "redefine new, unknown parent", "n1", "nope", "running", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine new, unknown parent, another uuid", "n1", "nope", "running",
             DOMAIN("<uuid>11111111-2222-3333-4444-555555555555</uuid>"), 0);
    redefine(dom, "redefine alpha as its own parent", "alpha", "alpha", "running", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine c02 under its descendant mid-2", "c02", "mid-2", "running", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine alpha offline", "alpha", "c02", "shutoff", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine r1 disk-only", "r1", NULL, "disk-snapshot", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine r1 running", "r1", NULL, "running", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine, no name", NULL, NULL, "running", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine, state bogus", "n1", NULL, "bogus", DOMAIN(OWN_UUID), 0);
    redefine(dom, "redefine, state nostate", "n1", NULL, "nostate", DOMAIN(OWN_UUID), 0);
    show_orders(dom, "after the redefinitions");

    /* The ID a domain handle shows: -1 on the handle a call stopped the
     * domain through, unchanged otherwise (a start included). */
    delete(dom, "c02", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    delete(dom, "r1", 0);
    virDomainFree(dom);
    virDomainFree(other);
    virDomainPtr off = virDomainLookupByName(conn, "test");
    if (virDomainIsActive(off) == 1)
        virDomainDestroy(off);
    drain();
    virDomainFree(off);
    dom = virDomainLookupByName(conn, "test");
    other = virDomainLookupByName(conn, "test");
    show_ids("looking up an inactive domain", conn, dom, other);
    virDomainCreate(dom);
    drain();
    show_ids("virDomainCreate through a", conn, dom, other);
    create(dom, "run", 0);
    show_ids("creating a snapshot through a", conn, dom, other);
    revert(other, "run", 0);
    show_ids("reverting running -> running through b", conn, dom, other);
    virDomainFree(other);
    other = virDomainLookupByName(conn, "test");
    show_ids("looking b up again", conn, dom, other);
    virDomainSuspend(other);
    drain();
    create(other, "pause", 0);
    revert(dom, "run", 0);
    show_ids("reverting paused -> running through a", conn, dom, other);
    create(other, "halt", VIR_DOMAIN_SNAPSHOT_CREATE_HALT);
    show_ids("creating with HALT through b", conn, dom, other);
    create(dom, "off", VIR_DOMAIN_SNAPSHOT_CREATE_HALT);
    show_ids("creating with HALT (inactive) through a", conn, dom, other);
    revert(dom, "pause", 0);
    show_ids("reverting off -> paused through a", conn, dom, other);
    revert(other, "off", 0);
    show_ids("reverting paused -> off through b", conn, dom, other);
    revert(dom, "off", VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    show_ids("reverting off -> off, RUNNING, through a", conn, dom, other);
    revert(dom, "run", 0);
    delete(other, "run", 0);
    show_ids("reverting to run and deleting it through b", conn, dom, other);
    delete(dom, "pause", VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);

    virDomainFree(dom);
    virDomainFree(other);
    virConnectClose(conn);
    return 0;
}
