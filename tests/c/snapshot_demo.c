/*
 * Domain snapshots on test:///default: creating, reverting to and deleting
 * snapshots, their tree and their XML, with the lifecycle events each call
 * emits, printed so that the output of this program on real libvirt 9.0 and
 * on ours can be compared line for line (tests/c_programs.rs does). Built
 * against the system's libvirt headers. Listings are printed sorted (the
 * plain listing comes in the order of libvirt's hash table, seeded at random;
 * snapshot_order_demo.c compares the orders libvirt fixes) and creation
 * times masked.
 */
#define _DEFAULT_SOURCE /* strdup, strtok */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

static void int_call(const char *what, int rc)
{
    if (rc < 0)
        failed(what);
    else
        printf("# %s -> %d\n", what, rc);
    drain();
}

/* Prints the snapshot a call returned (its name) and releases it. */
static void snap_call(const char *what, virDomainSnapshotPtr snap)
{
    if (!snap) {
        failed(what);
    } else {
        const char *name = virDomainSnapshotGetName(snap);
        int numeric = name && *name;
        for (const char *c = name; c && *c; c++)
            numeric &= isdigit((unsigned char)*c) != 0;
        printf("# %s -> snapshot '%s'\n", what, numeric ? "<creation time>" : name);
        virDomainSnapshotFree(snap);
    }
    drain();
}

static virDomainSnapshotPtr lookup(virDomainPtr dom, const char *name)
{
    return virDomainSnapshotLookupByName(dom, name, 0);
}

static void show_state(virDomainPtr dom)
{
    int state = -1, reason = -1;
    if (virDomainGetState(dom, &state, &reason, 0) < 0)
        failed("virDomainGetState");
    else
        printf("#   state %d/%d\n", state, reason);
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints names sorted, a numeric name (one made of the creation time) masked. */
static void show_names(const char *what, char **names, int n)
{
    if (n < 0) {
        failed(what);
        return;
    }
    qsort(names, (size_t)n, sizeof(*names), compare);
    printf("# %s -> %d:", what, n);
    for (int i = 0; i < n; i++) {
        int numeric = 1;
        for (const char *c = names[i]; *c; c++)
            numeric &= isdigit((unsigned char)*c) != 0;
        printf(" %s", numeric ? "<creation time>" : names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void list_names(const char *what, virDomainPtr dom, unsigned int flags)
{
    char *names[32];
    show_names(what, names, virDomainSnapshotListNames(dom, names, 32, flags));
}

static void children_names(const char *what, virDomainPtr dom, const char *of, unsigned int flags)
{
    char *names[32];
    virDomainSnapshotPtr snap = lookup(dom, of);
    show_names(what, names, virDomainSnapshotListChildrenNames(snap, names, 32, flags));
    virDomainSnapshotFree(snap);
}

/* Every snapshot with its parent and whether it is current, sorted. */
static void show_tree(virDomainPtr dom)
{
    virDomainSnapshotPtr *snaps = NULL;
    int n = virDomainListAllSnapshots(dom, &snaps, 0);
    if (n < 0) {
        failed("virDomainListAllSnapshots");
        return;
    }
    char *lines[32];
    for (int i = 0; i < n && i < 32; i++) {
        virDomainSnapshotPtr parent = virDomainSnapshotGetParent(snaps[i], 0);
        const char *name = virDomainSnapshotGetName(snaps[i]);
        char line[256];
        snprintf(line, sizeof(line), "%s <- %s%s%s", isdigit((unsigned char)name[0]) ? "<creation time>" : name,
                 parent ? (isdigit((unsigned char)virDomainSnapshotGetName(parent)[0]) ? "<creation time>"
                                                                                      : virDomainSnapshotGetName(parent))
                        : "(root)",
                 virDomainSnapshotIsCurrent(snaps[i], 0) == 1 ? ", current" : "",
                 virDomainSnapshotHasMetadata(snaps[i], 0) == 1 ? ", metadata" : "");
        lines[i] = strdup(line);
        if (parent)
            virDomainSnapshotFree(parent);
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
    virResetLastError();
    qsort(lines, (size_t)n, sizeof(*lines), compare);
    printf("# virDomainListAllSnapshots -> %d\n", n);
    for (int i = 0; i < n; i++) {
        printf("#   %s\n", lines[i]);
        free(lines[i]);
    }
}

/* The snapshot's XML, its creation time masked. */
static void show_xml(virDomainPtr dom, const char *name)
{
    virDomainSnapshotPtr snap = lookup(dom, name);
    char *xml = snap ? virDomainSnapshotGetXMLDesc(snap, 0) : NULL;
    if (!xml) {
        failed("virDomainSnapshotGetXMLDesc");
    } else {
        for (char *line = strtok(xml, "\n"); line; line = strtok(NULL, "\n")) {
            char *name = strstr(line, "<name>");
            if (strstr(line, "<creationTime>"))
                printf("#     <creationTime>(masked)</creationTime>\n");
            else if (name && isdigit((unsigned char)name[6]))
                printf("#   %.*s<name><creation time></name>\n", (int)(name - line), line);
            else
                printf("#   %s\n", line);
        }
        free(xml);
    }
    if (snap)
        virDomainSnapshotFree(snap);
}

/* Calls `op` (revert, delete) on snapshot `name` of `dom`. */
static void on_snapshot(const char *what, virDomainPtr dom, const char *name,
                        int (*op)(virDomainSnapshotPtr, unsigned int), unsigned int flags)
{
    virDomainSnapshotPtr snap = lookup(dom, name);
    int_call(what, snap ? op(snap, flags) : -1);
    if (snap)
        virDomainSnapshotFree(snap);
}

static void revert(const char *what, virDomainPtr dom, const char *name, unsigned int flags)
{
    on_snapshot(what, dom, name, virDomainRevertToSnapshot, flags);
    show_state(dom);
}

#define SNAPSHOT(name) "<domainsnapshot><name>" name "</name></domainsnapshot>"

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "test:///default";
    virConnectPtr conn = open_watched(uri);
    if (!conn)
        return 1;
    virDomainPtr dom = virDomainLookupByName(conn, "test");

    /* No snapshot yet. */
    int_call("virDomainHasCurrentSnapshot(test)", virDomainHasCurrentSnapshot(dom, 0));
    snap_call("virDomainSnapshotCurrent(test)", virDomainSnapshotCurrent(dom, 0));
    int_call("virDomainSnapshotNum(test)", virDomainSnapshotNum(dom, 0));

    /* Creating: running, unnamed, paused; the errors. */
    snap_call("create s1", virDomainSnapshotCreateXML(
                               dom, "<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>", 0));
    show_xml(dom, "s1");
    snap_call("create <domainsnapshot/>", virDomainSnapshotCreateXML(dom, "<domainsnapshot/>", 0));
    snap_call("create s1 again", virDomainSnapshotCreateXML(dom, SNAPSHOT("s1"), 0));
    snap_call("create x, NO_METADATA",
              virDomainSnapshotCreateXML(dom, SNAPSHOT("x"), VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA));
    snap_call("create x, DISK_ONLY", virDomainSnapshotCreateXML(dom, SNAPSHOT("x"), VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY));
    snap_call("create x, REUSE_EXT", virDomainSnapshotCreateXML(dom, SNAPSHOT("x"), VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT));
    snap_call("create x, CURRENT", virDomainSnapshotCreateXML(dom, SNAPSHOT("x"), VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT));
    snap_call("create x, REDEFINE|HALT",
              virDomainSnapshotCreateXML(dom, SNAPSHOT("x"),
                                         VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | VIR_DOMAIN_SNAPSHOT_CREATE_HALT));
    snap_call("create x, REDEFINE|NO_METADATA",
              virDomainSnapshotCreateXML(dom, SNAPSHOT("x"),
                                         VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA));
    snap_call("create <foo/>", virDomainSnapshotCreateXML(dom, "<foo/>", 0));
    snap_call("create x with an external disk",
              virDomainSnapshotCreateXML(
                  dom, "<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='no'/></disks></domainsnapshot>", 0));
    int_call("virDomainSuspend(test)", virDomainSuspend(dom));
    snap_call("create p1 (paused)", virDomainSnapshotCreateXML(dom, SNAPSHOT("p1"), 0));
    show_xml(dom, "p1");
    int_call("virDomainResume(test)", virDomainResume(dom));

    /* Reverting to active snapshots. */
    revert("revert to p1 (running -> paused)", dom, "p1", 0);
    revert("revert to s1 (paused -> running)", dom, "s1", 0);
    revert("revert to s1, PAUSED", dom, "s1", VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    revert("revert to p1 (paused -> paused)", dom, "p1", 0);
    revert("revert to p1, RUNNING", dom, "p1", VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    revert("revert to s1, FORCE", dom, "s1", VIR_DOMAIN_SNAPSHOT_REVERT_FORCE);
    revert("revert to s1, RUNNING|PAUSED", dom, "s1",
           VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    revert("revert to s1, RESET_NVRAM", dom, "s1", VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM);
    revert("revert to nope", dom, "nope", 0);

    /* Halting, and inactive snapshots. */
    snap_call("create h1, HALT", virDomainSnapshotCreateXML(dom, SNAPSHOT("h1"), VIR_DOMAIN_SNAPSHOT_CREATE_HALT));
    show_state(dom);
    snap_call("create o1 (shut off)", virDomainSnapshotCreateXML(dom, SNAPSHOT("o1"), 0));
    show_xml(dom, "o1");
    revert("revert to s1 (off -> running)", dom, "s1", 0);
    revert("revert to o1 (running -> off)", dom, "o1", 0);
    revert("revert to o1, RUNNING (off)", dom, "o1", VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    revert("revert to o1, PAUSED (off)", dom, "o1", VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    revert("revert to p1 (off -> paused)", dom, "p1", 0);
    revert("revert to o1, RUNNING (paused)", dom, "o1", VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    revert("revert to o1, RUNNING|FORCE (paused)", dom, "o1",
           VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | VIR_DOMAIN_SNAPSHOT_REVERT_FORCE);
    revert("revert to s1", dom, "s1", 0);

    /* The tree. */
    show_tree(dom);
    int_call("virDomainSnapshotNum", virDomainSnapshotNum(dom, 0));
    list_names("virDomainSnapshotListNames", dom, 0);
    list_names("virDomainSnapshotListNames, ROOTS", dom, VIR_DOMAIN_SNAPSHOT_LIST_ROOTS);
    list_names("virDomainSnapshotListNames, LEAVES", dom, VIR_DOMAIN_SNAPSHOT_LIST_LEAVES);
    list_names("virDomainSnapshotListNames, NO_LEAVES", dom, VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES);
    list_names("virDomainSnapshotListNames, ACTIVE", dom, VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE);
    list_names("virDomainSnapshotListNames, INACTIVE", dom, VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE);
    list_names("virDomainSnapshotListNames, NO_METADATA", dom, VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA);
    list_names("virDomainSnapshotListNames, INTERNAL|TOPOLOGICAL", dom,
               VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
    int_call("virDomainSnapshotNum, unknown flag", virDomainSnapshotNum(dom, 1u << 20));
    int_call("virDomainListAllSnapshots, counting", virDomainListAllSnapshots(dom, NULL, VIR_DOMAIN_SNAPSHOT_LIST_LEAVES));
    char *none[1];
    int_call("virDomainSnapshotListNames, nameslen 0", virDomainSnapshotListNames(dom, none, 0, 0));
    char *two[2];
    int listed = virDomainSnapshotListNames(dom, two, 2, 0);
    printf("# virDomainSnapshotListNames, nameslen 2 -> %d\n", listed);
    for (int i = 0; i < listed && i < 2; i++)
        free(two[i]);
    int_call("virDomainSnapshotListNames, nameslen -1", virDomainSnapshotListNames(dom, none, -1, 0));
    virDomainSnapshotPtr s1 = lookup(dom, "s1");
    int_call("virDomainSnapshotNumChildren(s1)", virDomainSnapshotNumChildren(s1, 0));
    int_call("virDomainSnapshotNumChildren(s1, DESCENDANTS)",
             virDomainSnapshotNumChildren(s1, VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS));
    int_call("virDomainSnapshotListAllChildren(s1, DESCENDANTS|LEAVES), counting",
             virDomainSnapshotListAllChildren(s1, NULL,
                                              VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS | VIR_DOMAIN_SNAPSHOT_LIST_LEAVES));
    children_names("virDomainSnapshotListChildrenNames(s1)", dom, "s1", 0);
    children_names("virDomainSnapshotListChildrenNames(p1, DESCENDANTS)", dom, "p1",
                   VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS);
    snap_call("virDomainSnapshotGetParent(s1)", virDomainSnapshotGetParent(s1, 0));
    snap_call("virDomainSnapshotGetParent(s1, 1)", virDomainSnapshotGetParent(s1, 1));
    snap_call("virDomainSnapshotCurrent", virDomainSnapshotCurrent(dom, 0));
    int_call("virDomainHasCurrentSnapshot", virDomainHasCurrentSnapshot(dom, 0));
    int_call("virDomainHasCurrentSnapshot, flag 1", virDomainHasCurrentSnapshot(dom, 1));
    int_call("virDomainSnapshotIsCurrent(s1)", virDomainSnapshotIsCurrent(s1, 0));
    int_call("virDomainSnapshotHasMetadata(s1)", virDomainSnapshotHasMetadata(s1, 0));
    snap_call("virDomainSnapshotLookupByName(nope)", lookup(dom, "nope"));
    snap_call("virDomainSnapshotLookupByName(s1, 1)", virDomainSnapshotLookupByName(dom, "s1", 1));
    printf("# virDomainSnapshotGetDomain is %sthe domain\n", virDomainSnapshotGetDomain(s1) == dom ? "" : "NOT ");
    printf("# virDomainSnapshotGetConnect is %sthe connection\n", virDomainSnapshotGetConnect(s1) == conn ? "" : "NOT ");
    int_call("virDomainSnapshotRef(s1)", virDomainSnapshotRef(s1));
    int_call("virDomainSnapshotFree(s1)", virDomainSnapshotFree(s1));
    char *xml = virDomainSnapshotGetXMLDesc(s1, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
    printf("# virDomainSnapshotGetXMLDesc(s1, SECURE) -> %s\n", xml ? "a description" : "NULL");
    free(xml);
    xml = virDomainSnapshotGetXMLDesc(s1, 2);
    if (!xml)
        failed("virDomainSnapshotGetXMLDesc(s1, 2)");
    free(xml);

    /* Redefining. */
    xml = virDomainSnapshotGetXMLDesc(s1, 0);
    snap_call("redefine s1", virDomainSnapshotCreateXML(dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE));
    snap_call("redefine s1, CURRENT",
              virDomainSnapshotCreateXML(dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT));
    int_call("virDomainSnapshotIsCurrent(s1)", virDomainSnapshotIsCurrent(s1, 0));
    char *renamed = strdup(xml);
    memcpy(strstr(renamed, "<name>s1</name>"), "<name>r2</name>", 15);
    snap_call("redefine r2 (s1's description renamed)",
              virDomainSnapshotCreateXML(dom, renamed, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE));
    free(renamed);
    free(xml);
    show_xml(dom, "r2");
    snap_call("redefine r3, no creationTime",
              virDomainSnapshotCreateXML(dom, SNAPSHOT("r3"), VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE));
    snap_call("redefine r3, no state",
              virDomainSnapshotCreateXML(dom, "<domainsnapshot><name>r3</name><creationTime>5</creationTime></domainsnapshot>",
                                         VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE));
    snap_call("redefine r3, no domain",
              virDomainSnapshotCreateXML(
                  dom, "<domainsnapshot><name>r3</name><state>running</state><creationTime>5</creationTime></domainsnapshot>",
                  VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE));

    /* A read-only connection. */
    virConnectPtr ro = virConnectOpenReadOnly(uri);
    virDomainPtr ro_dom = virDomainLookupByName(ro, "test");
    snap_call("read-only: create", virDomainSnapshotCreateXML(ro_dom, SNAPSHOT("x"), 0));
    snap_call("read-only: create, NULL XML", virDomainSnapshotCreateXML(ro_dom, NULL, 0));
    virDomainSnapshotPtr ro_s1 = lookup(ro_dom, "s1");
    printf("# read-only: lookup s1 -> %s\n", ro_s1 ? virDomainSnapshotGetName(ro_s1) : "NULL");
    int_call("read-only: revert", virDomainRevertToSnapshot(ro_s1, 0));
    int_call("read-only: delete", virDomainSnapshotDelete(ro_s1, 0));
    xml = virDomainSnapshotGetXMLDesc(ro_s1, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
    if (!xml)
        failed("read-only: virDomainSnapshotGetXMLDesc, SECURE");
    free(xml);
    virDomainSnapshotFree(ro_s1);
    virDomainFree(ro_dom);
    virConnectClose(ro);

    /* Other domains: a transient one, an inactive one. */
    virDomainPtr tr = virDomainCreateXML(
        conn, "<domain type='test'><name>tr</name><memory>1024</memory><os><type>hvm</type></os></domain>", 0);
    drain();
    snap_call("tr: create, HALT", virDomainSnapshotCreateXML(tr, SNAPSHOT("t1"), VIR_DOMAIN_SNAPSHOT_CREATE_HALT));
    snap_call("tr: create t1", virDomainSnapshotCreateXML(tr, SNAPSHOT("t1"), 0));
    revert("tr: revert to t1", tr, "t1", 0);
    int_call("tr: destroy", virDomainDestroy(tr));
    virDomainFree(tr);
    virDomainPtr off = virDomainDefineXML(
        conn, "<domain type='test'><name>off</name><memory>1024</memory><os><type>hvm</type></os></domain>");
    drain();
    snap_call("off: create o", virDomainSnapshotCreateXML(off, SNAPSHOT("o"), 0));
    snap_call("off: create o2, HALT", virDomainSnapshotCreateXML(off, SNAPSHOT("o2"), VIR_DOMAIN_SNAPSHOT_CREATE_HALT));
    revert("off: revert to o", off, "o", 0);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT);
    char *domain_names[8];
    for (int i = 0; i < n && i < 8; i++) {
        domain_names[i] = strdup(virDomainGetName(doms[i]));
        virDomainFree(doms[i]);
    }
    free(doms);
    show_names("virConnectListAllDomains(HAS_SNAPSHOT)", domain_names, n);
    int_call("virConnectListAllDomains(NO_SNAPSHOT)", virConnectListAllDomains(conn, NULL, VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT));
    int_call("off: undefine", virDomainUndefine(off));
    int_call("off: undefine, SNAPSHOTS_METADATA", virDomainUndefineFlags(off, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA));
    virDomainFree(off);

    /* Deleting. */
    on_snapshot("delete s1, CHILDREN|METADATA_ONLY", dom, "s1", virDomainSnapshotDelete,
           VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    on_snapshot("delete s1, CHILDREN|CHILDREN_ONLY", dom, "s1", virDomainSnapshotDelete,
           VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    int_call("delete s1", virDomainSnapshotDelete(s1, 0));
    show_tree(dom);
    int_call("delete s1 again", virDomainSnapshotDelete(s1, 0));
    printf("# virDomainSnapshotGetName(deleted s1) -> %s\n", virDomainSnapshotGetName(s1));
    xml = virDomainSnapshotGetXMLDesc(s1, 0);
    if (!xml)
        failed("virDomainSnapshotGetXMLDesc(deleted s1)");
    free(xml);
    int_call("virDomainSnapshotFree(s1)", virDomainSnapshotFree(s1));
    on_snapshot("delete p1, CHILDREN_ONLY", dom, "p1", virDomainSnapshotDelete, VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    show_tree(dom);
    on_snapshot("delete p1, CHILDREN", dom, "p1", virDomainSnapshotDelete, VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    show_tree(dom);
    snap_call("virDomainSnapshotCurrent", virDomainSnapshotCurrent(dom, 0));
    int_call("virDomainHasCurrentSnapshot", virDomainHasCurrentSnapshot(dom, 0));
    show_state(dom);

    virDomainFree(dom);
    virConnectClose(conn);
    return 0;
}
