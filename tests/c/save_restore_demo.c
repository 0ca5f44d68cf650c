/*
 * The domain operations of test:///default that save, restore and resize
 * domains, with the lifecycle events each emits, printed so that the output
 * of this program on real libvirt 9.0 and on ours can be compared line for
 * line (tests/c_programs.rs does). Built against the system's libvirt
 * headers: it is what a libvirt program does. The URI is the first argument
 * (test:///default without one).
 */
#define _DEFAULT_SOURCE /* gethostname */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

/* Prints what a call answered: its value, or libvirt's error. */
static void report(const char *what, long long rc, int failed_call)
{
    if (failed_call) {
        failed(what);
    } else {
        printf("# %s -> %lld\n", what, rc);
    }
    drain();
}

#define INT_CALL(what, call)        \
    do {                            \
        int rc_ = (call);           \
        report(what, rc_, rc_ < 0); \
    } while (0)

static void show_info(virDomainPtr dom)
{
    virDomainInfo info;
    int state = -1, reason = -1;
    if (virDomainGetInfo(dom, &info) < 0 || virDomainGetState(dom, &state, &reason, 0) < 0) {
        report("virDomainGetInfo", -1, 1);
        return;
    }
    printf("#   state %d/%d, max %lu KiB, memory %lu KiB, vcpus %u\n", state, reason, info.maxMem, info.memory,
           (unsigned)info.nrVirtCpu);
}

static void show_string(const char *what, char *text)
{
    if (!text) {
        report(what, -1, 1);
        return;
    }
    printf("# %s -> %s\n", what, text);
    free(text);
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "test:///default";
    char image[64];
    snprintf(image, sizeof(image), "/tmp/virt-events-demo-%ld.img", (long)getpid());
    virConnectPtr conn = open_watched(uri);
    if (!conn)
        return 1;
    virDomainPtr dom = virDomainLookupByName(conn, "test");

    /* The host and the hypervisor. */
    const char *type = virConnectGetType(conn);
    printf("# virConnectGetType -> %s\n", type ? type : "(null)");
    unsigned long version = 0;
    INT_CALL("virConnectGetVersion", virConnectGetVersion(conn, &version));
    printf("#   version %lu\n", version);
    char *host = virConnectGetHostname(conn);
    char hostname[256] = "";
    gethostname(hostname, sizeof(hostname) - 1);
    printf("# virConnectGetHostname is %sthe host's name\n", host && !strncmp(host, hostname, strlen(hostname)) ? "" : "NOT ");
    free(host);
    virNodeInfo node;
    INT_CALL("virNodeGetInfo", virNodeGetInfo(conn, &node));
    printf("#   %s %lu KiB, %u cpus at %u MHz, %u nodes, %u sockets, %u cores, %u threads\n", node.model, node.memory,
           node.cpus, node.mhz, node.nodes, node.sockets, node.cores, node.threads);
    char *caps = virConnectGetCapabilities(conn);
    printf("# virConnectGetCapabilities -> %zu bytes%s\n", caps ? strlen(caps) : 0,
           caps && strstr(caps, "<domain type='test'/>") ? ", test guests" : "");
    free(caps);
    show_string("virDomainGetOSType(test)", virDomainGetOSType(dom));
    int autostart = -1;
    INT_CALL("virDomainGetAutostart(test)", virDomainGetAutostart(dom, &autostart));
    printf("#   autostart %d\n", autostart);

    /* Memory and vCPUs: no events. */
    show_info(dom);
    INT_CALL("virDomainSetMemory(test, 4 GiB)", virDomainSetMemory(dom, 4194304));
    INT_CALL("virDomainSetMemory(test, 16 GiB)", virDomainSetMemory(dom, 16777216));
    INT_CALL("virDomainSetMemory(test, 0)", virDomainSetMemory(dom, 0));
    INT_CALL("virDomainSetMaxMemory(test, 4 GiB)", virDomainSetMaxMemory(dom, 4194304));
    INT_CALL("virDomainSetMemoryFlags(test, 1 GiB, CONFIG)", virDomainSetMemoryFlags(dom, 1048576, VIR_DOMAIN_AFFECT_CONFIG));
    INT_CALL("virDomainSetMemoryFlags(test, LIVE|CONFIG)",
             virDomainSetMemoryFlags(dom, 1048576, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG));
    INT_CALL("virDomainSetVcpus(test, 1)", virDomainSetVcpus(dom, 1));
    INT_CALL("virDomainSetVcpus(test, 3)", virDomainSetVcpus(dom, 3));
    INT_CALL("virDomainSetVcpus(test, 33)", virDomainSetVcpus(dom, 33));
    INT_CALL("virDomainSetVcpusFlags(test, 4, MAXIMUM)", virDomainSetVcpusFlags(dom, 4, VIR_DOMAIN_VCPU_MAXIMUM));
    INT_CALL("virDomainSetVcpusFlags(test, 4, MAXIMUM|CONFIG)",
             virDomainSetVcpusFlags(dom, 4, VIR_DOMAIN_VCPU_MAXIMUM | VIR_DOMAIN_AFFECT_CONFIG));
    INT_CALL("virDomainGetVcpusFlags(test, CONFIG|MAXIMUM)",
             virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM));
    INT_CALL("virDomainGetVcpusFlags(test, 0)", virDomainGetVcpusFlags(dom, 0));
    INT_CALL("virDomainGetMaxVcpus(test)", virDomainGetMaxVcpus(dom));
    show_info(dom);
    INT_CALL("virDomainSetBlockThreshold(test, vda, 1 MiB)", virDomainSetBlockThreshold(dom, "vda", 1048576, 0));
    INT_CALL("virDomainPMSuspendForDuration(test, mem)",
             virDomainPMSuspendForDuration(dom, VIR_NODE_SUSPEND_TARGET_MEM, 0, 0));
    INT_CALL("virDomainPMWakeup(test)", virDomainPMWakeup(dom, 0));

    /* Saving and restoring. */
    INT_CALL("virDomainSave(test, /nonexistent)", virDomainSave(dom, "/nonexistent/virt-events-demo.img"));
    INT_CALL("virDomainSaveFlags(test, RUNNING|PAUSED)",
             virDomainSaveFlags(dom, image, NULL, VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED));
    INT_CALL("virDomainSaveFlags(test, dxml)", virDomainSaveFlags(dom, image, "<domain/>", 0));
    INT_CALL("virDomainSave(test)", virDomainSave(dom, image));
    show_info(dom);
    INT_CALL("virDomainSave(test) again", virDomainSave(dom, image));
    INT_CALL("virDomainRestoreFlags(image, 1)", virDomainRestoreFlags(conn, image, NULL, 1));
    INT_CALL("virDomainRestore(image)", virDomainRestore(conn, image));
    show_info(dom);
    INT_CALL("virDomainRestore(image) while running", virDomainRestore(conn, image));
    INT_CALL("virDomainRestore(/nonexistent)", virDomainRestore(conn, "/nonexistent/virt-events-demo.img"));
    FILE *bad = fopen(image, "w");
    if (bad) {
        fputs("not a save image", bad);
        fclose(bad);
    }
    INT_CALL("virDomainRestore(garbage)", virDomainRestore(conn, image));
    unlink(image);
    /* Images whose length is out of range, at a fixed path, which the
     * messages show. (A short image's message ends in whatever errno real
     * libvirt has lying around, so it is not compared.) */
    const char *broken = "/tmp/virt-events-demo-broken.img";
    static const char *const lengths[] = {"\0\0\0\0", "\xff\x7f\0\0"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(broken, "w");
        if (f) {
            fwrite("TestGuestMagic", 1, 15, f);
            fwrite(lengths[i], 1, 4, f);
            fclose(f);
        }
        INT_CALL(i ? "virDomainRestore(32 KiB of metadata)" : "virDomainRestore(no metadata)",
                 virDomainRestore(conn, broken));
    }
    unlink(broken);

    /* Managed save. */
    INT_CALL("virDomainHasManagedSaveImage(test)", virDomainHasManagedSaveImage(dom, 0));
    INT_CALL("virDomainManagedSave(test)", virDomainManagedSave(dom, 0));
    INT_CALL("virDomainHasManagedSaveImage(test)", virDomainHasManagedSaveImage(dom, 0));
    virDomainPtr *saved = NULL;
    int n = virConnectListAllDomains(conn, &saved, VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE);
    printf("# domains with a managed save image: %d%s%s\n", n, n > 0 ? " " : "", n > 0 ? virDomainGetName(saved[0]) : "");
    for (int i = 0; i < n; i++)
        virDomainFree(saved[i]);
    free(saved);
    INT_CALL("virDomainUndefine(test)", virDomainUndefine(dom));
    INT_CALL("virDomainManagedSave(test) inactive", virDomainManagedSave(dom, 0));
    INT_CALL("virDomainCreate(test) [from managed save]", virDomainCreate(dom));
    show_info(dom);
    INT_CALL("virDomainHasManagedSaveImage(test)", virDomainHasManagedSaveImage(dom, 0));
    INT_CALL("virDomainManagedSave(test)", virDomainManagedSave(dom, 0));
    INT_CALL("virDomainManagedSaveRemove(test)", virDomainManagedSaveRemove(dom, 0));
    INT_CALL("virDomainHasManagedSaveImage(test)", virDomainHasManagedSaveImage(dom, 0));

    /* The flag variants. */
    INT_CALL("virDomainCreateWithFlags(test, PAUSED)", virDomainCreateWithFlags(dom, VIR_DOMAIN_START_PAUSED));
    INT_CALL("virDomainCreateWithFlags(test, 0)", virDomainCreateWithFlags(dom, 0));
    INT_CALL("virDomainShutdownFlags(test, ACPI)", virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN));
    INT_CALL("virDomainShutdownFlags(test, 0)", virDomainShutdownFlags(dom, 0));
    INT_CALL("virDomainCreateWithFlags(test, 0)", virDomainCreateWithFlags(dom, 0));
    INT_CALL("virDomainDestroyFlags(test, 0x80)", virDomainDestroyFlags(dom, 0x80));
    INT_CALL("virDomainDestroyFlags(test, GRACEFUL)", virDomainDestroyFlags(dom, VIR_DOMAIN_DESTROY_GRACEFUL));
    const char *xml = "<domain type='test'><name>demo2</name><uuid>5c4b3a29-1807-4f6e-9d8c-7b6a59483799</uuid>"
                      "<memory>1048576</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>";
    virDomainPtr other = virDomainDefineXMLFlags(conn, xml, 0x80);
    report("virDomainDefineXMLFlags(demo2, 0x80)", 0, other == NULL);
    other = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    report("virDomainDefineXMLFlags(demo2, VALIDATE)", 0, other == NULL);
    if (other) {
        INT_CALL("virDomainSetVcpusFlags(demo2, 1, CONFIG)", virDomainSetVcpusFlags(other, 1, VIR_DOMAIN_AFFECT_CONFIG));
        INT_CALL("virDomainSetMemoryFlags(demo2, 2 GiB, MAXIMUM)", virDomainSetMemoryFlags(other, 2097152, VIR_DOMAIN_MEM_MAXIMUM));
        INT_CALL("virDomainSetMemory(demo2) inactive", virDomainSetMemory(other, 1024));
        show_info(other);
        INT_CALL("virDomainCreate(demo2)", virDomainCreate(other));
        show_info(other);
        INT_CALL("virDomainManagedSave(demo2)", virDomainManagedSave(other, 0));
        INT_CALL("virDomainUndefineFlags(demo2, 0x100)", virDomainUndefineFlags(other, 0x100));
        INT_CALL("virDomainUndefineFlags(demo2, MANAGED_SAVE)", virDomainUndefineFlags(other, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE));
        virDomainFree(other);
    }
    other = virDomainCreateLinux(conn, xml, 0);
    report("virDomainCreateLinux(demo2)", 0, other == NULL);
    if (other) {
        INT_CALL("virDomainManagedSave(demo2) transient", virDomainManagedSave(other, 0));
        INT_CALL("virDomainSave(demo2) transient", virDomainSave(other, image));
        INT_CALL("virDomainRestore(demo2 image)", virDomainRestore(conn, image));
        INT_CALL("virDomainDestroy(demo2)", virDomainDestroy(other));
        unlink(image);
        virDomainFree(other);
    }
    virDomainFree(dom);
    virConnectClose(conn);
    printf("# done\n");
    return 0;
}
