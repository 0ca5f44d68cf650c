/*
 * event-test: watch libvirt domain events and print one line per event.
 *
 *   event-test [--demo] [URI]
 *   event-test --write-guest DIR
 *
 * Registers the legacy lifecycle callback and a callback for each of the
 * six domain event IDs, runs libvirt's default event loop until SIGINT or
 * SIGTERM, then deregisters everything and closes the connection.
 *
 * With --demo, a second thread drives a driver through a scripted sequence
 * while the main thread prints the events it produces, then stops:
 *  - on test:///default: suspend, resume, shutdown, start, destroy, ...;
 *  - otherwise (by default in a temporary qemu:///embed root): a tiny guest
 *    under QEMU that changes its RTC, hits a disk error and fires its
 *    watchdog, a VNC client that connects to it, then destroy.
 *
 * --write-guest writes that guest's disk (DIR/disk.img) and the blkdebug
 * configuration that fails its read of sector 8 (DIR/blkdebug.conf), and
 * prints the disk source that combines them.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static volatile sig_atomic_t run = 1;

static void stop(int sig)
{
    (void)sig;
    run = 0;
}

static const char *event_name(int event)
{
    static const char *const names[] = {
        "Defined", "Undefined", "Started", "Suspended", "Resumed",
        "Stopped", "Shutdown", "PMSuspended", "Crashed",
    };
    return event >= 0 && event < (int)(sizeof(names) / sizeof(names[0])) ? names[event] : "unknown";
}

static const char *detail_name(int event, int detail)
{
    static const char *const defined[] = { "Added", "Updated", "Renamed", "Snapshot" };
    static const char *const undefined[] = { "Removed", "Renamed" };
    static const char *const started[] = { "Booted", "Migrated", "Restored", "Snapshot", "Event wakeup" };
    static const char *const suspended[] = { "Paused", "Migrated", "I/O Error", "Watchdog", "Restored",
                                             "Snapshot", "API error", "Post-copy", "Post-copy Error" };
    static const char *const resumed[] = { "Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error" };
    static const char *const stopped[] = { "Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed",
                                           "Snapshot" };
    static const char *const shutdown[] = { "Finished", "Finished after guest request",
                                            "Finished after host request" };
    static const char *const pmsuspended[] = { "Memory", "Disk" };
    static const char *const crashed[] = { "Panicked", "Crashloaded" };
#define PICK(table) (detail >= 0 && detail < (int)(sizeof(table) / sizeof(table[0])) ? table[detail] : "unknown")
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED: return PICK(defined);
    case VIR_DOMAIN_EVENT_UNDEFINED: return PICK(undefined);
    case VIR_DOMAIN_EVENT_STARTED: return PICK(started);
    case VIR_DOMAIN_EVENT_SUSPENDED: return PICK(suspended);
    case VIR_DOMAIN_EVENT_RESUMED: return PICK(resumed);
    case VIR_DOMAIN_EVENT_STOPPED: return PICK(stopped);
    case VIR_DOMAIN_EVENT_SHUTDOWN: return PICK(shutdown);
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return PICK(pmsuspended);
    case VIR_DOMAIN_EVENT_CRASHED: return PICK(crashed);
    default: return "unknown";
    }
#undef PICK
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    printf("%s EVENT: Domain %s(%d) %s %s\n", (const char *)opaque, virDomainGetName(dom),
           (int)virDomainGetID(dom), event_name(event), detail_name(event, detail));
    fflush(stdout);
    return 0;
}

static void reboot_cb(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    (void)conn;
    printf("%s EVENT: Domain %s(%d) rebooted\n", (const char *)opaque, virDomainGetName(dom), (int)virDomainGetID(dom));
    fflush(stdout);
}

static void rtc_change_cb(virConnectPtr conn, virDomainPtr dom, long long utcoffset, void *opaque)
{
    (void)conn;
    printf("%s EVENT: Domain %s(%d) rtc change %lld\n", (const char *)opaque, virDomainGetName(dom),
           (int)virDomainGetID(dom), utcoffset);
    fflush(stdout);
}

static void watchdog_cb(virConnectPtr conn, virDomainPtr dom, int action, void *opaque)
{
    static const char *const actions[] = { "none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi" };
    (void)conn;
    printf("%s EVENT: Domain %s(%d) watchdog action=%d (%s)\n", (const char *)opaque, virDomainGetName(dom),
           (int)virDomainGetID(dom), action,
           action >= 0 && action < (int)(sizeof(actions) / sizeof(actions[0])) ? actions[action] : "unknown");
    fflush(stdout);
}

static void io_error_cb(virConnectPtr conn, virDomainPtr dom, const char *src_path, const char *dev_alias,
                        int action, void *opaque)
{
    static const char *const actions[] = { "none", "pause", "report" };
    (void)conn;
    printf("%s EVENT: Domain %s(%d) io error path=%s alias=%s action=%d (%s)\n", (const char *)opaque,
           virDomainGetName(dom), (int)virDomainGetID(dom), src_path, dev_alias, action,
           action >= 0 && action < 3 ? actions[action] : "unknown");
    fflush(stdout);
}

static const char *family_name(int family)
{
    switch (family) {
    case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4: return "ipv4";
    case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6: return "ipv6";
    case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX: return "unix";
    default: return "unknown";
    }
}

static void graphics_cb(virConnectPtr conn, virDomainPtr dom, int phase, const virDomainEventGraphicsAddress *local,
                        const virDomainEventGraphicsAddress *remote, const char *auth_scheme,
                        const virDomainEventGraphicsSubject *subject, void *opaque)
{
    static const char *const phases[] = { "connected", "initialized", "disconnected" };
    (void)conn;
    printf("%s EVENT: Domain %s(%d) graphics %s local: family=%s node=%s service=%s "
           "remote: family=%s node=%s service=%s auth: %s",
           (const char *)opaque, virDomainGetName(dom), (int)virDomainGetID(dom),
           phase >= 0 && phase < 3 ? phases[phase] : "unknown", family_name(local->family), local->node,
           local->service ? local->service : "-", family_name(remote->family), remote->node,
           remote->service ? remote->service : "-", auth_scheme);
    for (int i = 0; i < subject->nidentity; i++)
        printf(" identity: %s=%s", subject->identities[i].type, subject->identities[i].name);
    printf("\n");
    fflush(stdout);
}

static void free_label(void *opaque)
{
    printf("freed [%s]\n", (const char *)opaque);
    free(opaque);
}

/*
 * The demo guest: a boot sector in 16-bit real mode. It sets the RTC's year
 * to 2030 (RTC_CHANGE), reads LBA 8 through the BIOS (which blkdebug fails),
 * arms the ib700 watchdog with its shortest timeout (WATCHDOG), and halts.
 */
static const unsigned char guest_code[] = {
    0xFA,                                     /* cli */
    0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xD0,       /* xor ax,ax; mov ds,ax; mov ss,ax */
    0xBC, 0x00, 0x7C,                         /* mov sp, 0x7c00 */
    0xB0, 0x0B, 0xE6, 0x70,                   /* CMOS register B ... */
    0xE4, 0x71, 0x88, 0xC4,                   /* ... read, keep in ah */
    0x0C, 0x80, 0xE6, 0x71,                   /* ... set SET (0x80) */
    0xB0, 0x09, 0xE6, 0x70,                   /* CMOS year register ... */
    0xB0, 0x30, 0xE6, 0x71,                   /* ... = 0x30 (BCD) */
    0xB0, 0x0B, 0xE6, 0x70,                   /* CMOS register B ... */
    0x88, 0xE0, 0x24, 0x7F, 0xE6, 0x71,       /* ... = old value without SET */
    0x31, 0xC0, 0x8E, 0xC0,                   /* es = 0 */
    0xB8, 0x01, 0x02,                         /* int 13h: read 1 sector */
    0xB9, 0x09, 0x00,                         /* cylinder 0, sector 9 (LBA 8) */
    0xBA, 0x80, 0x00,                         /* head 0, drive 0x80 */
    0xBB, 0x00, 0x7E,                         /* to 0:0x7e00 */
    0xCD, 0x13,
    0xBA, 0x43, 0x04, 0xB0, 0x0F, 0xEE,       /* out 0x443, 0x0f: arm the ib700 */
    0xFA, 0xF4, 0xEB, 0xFC,                   /* cli; hlt; jmp back */
};

/* Writes DIR/disk.img and DIR/blkdebug.conf; fills `source` with the
 * blkdebug source naming both. */
static int write_guest(const char *dir, char *source, size_t size)
{
    char path[PATH_MAX], conf[PATH_MAX];
    static unsigned char image[1024 * 1024];
    memset(image, 0, sizeof(image));
    memcpy(image, guest_code, sizeof(guest_code));
    image[510] = 0x55;
    image[511] = 0xAA;
    snprintf(path, sizeof(path), "%s/disk.img", dir);
    snprintf(conf, sizeof(conf), "%s/blkdebug.conf", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(image, 1, sizeof(image), f) != sizeof(image) || fclose(f) != 0)
        return -1;
    f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"8\"\n");
    if (fclose(f) != 0)
        return -1;
    snprintf(source, size, "blkdebug:%s:%s", conf, path);
    return 0;
}

/* A minimal RFB client: version, security type None, ClientInit, close. */
static int vnc_session(const char *socket_path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    unsigned char buf[64];
    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return -1;
    memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
             read(fd, buf, 12) == 12 && write(fd, "RFB 003.008\n", 12) == 12 &&
             read(fd, buf, 1) == 1 && buf[0] > 0 && read(fd, buf + 1, buf[0]) > 0 &&
             write(fd, "\x01", 1) == 1 && read(fd, buf, 4) == 4 && write(fd, "\x01", 1) == 1 &&
             read(fd, buf, 24) > 0;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

static void say(const char *what, int ok)
{
    printf("# %s -> %s\n", what, ok ? "ok" : virGetLastErrorMessage());
    fflush(stdout);
}

/* The QEMU part of --demo: `dir` holds the embed root and the guest's files. */
static void demo_qemu(virConnectPtr conn, const char *dir)
{
    char source[2 * PATH_MAX + 16], xml[4 * PATH_MAX], vnc[PATH_MAX];
    if (write_guest(dir, source, sizeof(source)) < 0) {
        fprintf(stderr, "demo: cannot write the guest under %s\n", dir);
        return;
    }
    snprintf(vnc, sizeof(vnc), "%s/vnc.sock", dir);
    snprintf(xml, sizeof(xml),
             "<domain type='qemu'><name>demo</name><memory unit='MiB'>32</memory><os><type>hvm</type></os>"
             "<clock offset='variable' adjustment='3600'/><devices>"
             "<disk type='file' device='disk'><driver name='qemu' type='raw' error_policy='report'/>"
             "<source file='%s'/><target dev='hda' bus='ide'/></disk>"
             "<graphics type='vnc'><listen type='socket' socket='%s'/></graphics>"
             "<watchdog model='ib700' action='reset'/></devices></domain>",
             source, vnc);
    virDomainPtr dom = virDomainCreateXML(conn, xml, 0);
    say("virDomainCreateXML(demo): QEMU boots the guest (RTC change, disk error, watchdog reset)", dom != NULL);
    if (!dom)
        return;
    sleep(8);
    say("a VNC client connects to the guest's display and leaves", vnc_session(vnc) == 0);
    sleep(1);
    say("virDomainDestroy(demo)", virDomainDestroy(dom) == 0);
    usleep(500 * 1000);
    virDomainFree(dom);
}

/* The test driver part of --demo. */
static void demo_test_driver(virConnectPtr conn)
{
    virDomainPtr test = virDomainLookupByName(conn, "test");
    const char *second = "<domain type='test'><name>demo</name>"
                         "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid><memory>65536</memory><os><type>hvm</type></os></domain>";
    struct step {
        const char *what;
        int (*op)(virDomainPtr);
    } steps[] = {
        { "virDomainSuspend(test)", virDomainSuspend },
        { "virDomainResume(test)", virDomainResume },
        { "virDomainShutdown(test)", virDomainShutdown },
        { "virDomainCreate(test)", virDomainCreate },
        { "virDomainDestroy(test)", virDomainDestroy },
        { "virDomainCreate(test)", virDomainCreate },
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && run; i++) {
        usleep(300 * 1000);
        say(steps[i].what, steps[i].op(test) == 0);
    }
    usleep(300 * 1000);
    virDomainPtr dom = virDomainDefineXML(conn, second);
    say("virDomainDefineXML(demo)", dom != NULL);
    if (dom) {
        usleep(300 * 1000);
        say("virDomainCreate(demo)", virDomainCreate(dom) == 0);
        usleep(300 * 1000);
        say("virDomainDestroy(demo)", virDomainDestroy(dom) == 0);
        usleep(300 * 1000);
        say("virDomainUndefine(demo)", virDomainUndefine(dom) == 0);
        virDomainFree(dom);
    }
    usleep(500 * 1000);
    if (test)
        virDomainFree(test);
}

struct demo_args {
    const char *uri;
    const char *dir;
};

/* The scripted operations of --demo, on a connection of their own. */
static void *demo(void *arg)
{
    const struct demo_args *args = arg;
    virConnectPtr conn = virConnectOpen(args->uri);
    if (!conn) {
        fprintf(stderr, "demo: cannot open %s: %s\n", args->uri, virGetLastErrorMessage());
    } else {
        if (strncmp(args->uri, "test:", 5) == 0)
            demo_test_driver(conn);
        else
            demo_qemu(conn, args->dir);
        virConnectClose(conn);
    }
    kill(getpid(), SIGTERM);
    return NULL;
}

int main(int argc, char **argv)
{
    int demo_mode = 0;
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--demo") == 0) {
            demo_mode = 1;
        } else if (strcmp(argv[i], "--write-guest") == 0 && i + 1 < argc) {
            char source[2 * PATH_MAX + 16];
            if (write_guest(argv[i + 1], source, sizeof(source)) < 0) {
                perror("--write-guest");
                return 1;
            }
            printf("%s\n", source);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--demo] [URI]\n       %s --write-guest DIR\n", argv[0], argv[0]);
            return 0;
        } else {
            uri = argv[i];
        }
    }

    /* The QEMU demo runs in a temporary embed root of its own. */
    char demo_dir[] = "/tmp/virt-events-demo-XXXXXX";
    char demo_uri[PATH_MAX + 32];
    struct demo_args args = { uri, demo_dir };
    if (demo_mode && !uri) {
        if (!mkdtemp(demo_dir)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(demo_uri, sizeof(demo_uri), "qemu:///embed?root=%s", demo_dir);
        uri = args.uri = demo_uri;
    }

    if (virEventRegisterDefaultImpl() < 0) {
        fprintf(stderr, "Failed to register event implementation: %s\n", virGetLastErrorMessage());
        return 1;
    }
    virConnectPtr conn = virConnectOpenAuth(uri, virConnectAuthPtrDefault, VIR_CONNECT_RO);
    if (!conn) {
        fprintf(stderr, "error opening %s\n", uri ? uri : "the default URI");
        return 1;
    }

    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = stop; /* no SA_RESTART: the signal interrupts the loop's poll */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    struct {
        int id;
        void *cb;
        const char *label;
        int callback_id;
    } any[] = {
        { VIR_DOMAIN_EVENT_ID_LIFECYCLE, (void *)lifecycle_cb, "lifecycle", -1 },
        { VIR_DOMAIN_EVENT_ID_REBOOT, (void *)reboot_cb, "reboot", -1 },
        { VIR_DOMAIN_EVENT_ID_RTC_CHANGE, (void *)rtc_change_cb, "rtc-change", -1 },
        { VIR_DOMAIN_EVENT_ID_WATCHDOG, (void *)watchdog_cb, "watchdog", -1 },
        { VIR_DOMAIN_EVENT_ID_IO_ERROR, (void *)io_error_cb, "io-error", -1 },
        { VIR_DOMAIN_EVENT_ID_GRAPHICS, (void *)graphics_cb, "graphics", -1 },
    };
    const size_t nany = sizeof(any) / sizeof(any[0]);

    int ok = virConnectDomainEventRegister(conn, lifecycle_cb, strdup("legacy-lifecycle"), free_label) == 0;
    for (size_t i = 0; i < nany; i++) {
        any[i].callback_id = virConnectDomainEventRegisterAny(
            conn, NULL, any[i].id, (virConnectDomainEventGenericCallback)any[i].cb, strdup(any[i].label), free_label);
        ok = ok && any[i].callback_id >= 0;
    }
    if (!ok) {
        fprintf(stderr, "Failed to register event callbacks: %s\n", virGetLastErrorMessage());
        run = 0;
    } else {
        printf("Watching %s; Ctrl-C stops.\n", uri ? uri : "the default URI");
        fflush(stdout);
    }

    pthread_t driver_thread;
    int demo_started = 0;
    if (run && demo_mode) {
        /* The demo thread must not take the stop signal: the loop's poll in
         * this thread is what the signal has to interrupt. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        demo_started = pthread_create(&driver_thread, NULL, demo, &args) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }

    while (run) {
        if (virEventRunDefaultImpl() < 0)
            fprintf(stderr, "Failed to run event loop: %s\n", virGetLastErrorMessage());
    }
    if (demo_started)
        pthread_join(driver_thread, NULL);

    printf("Deregistering event callbacks\n");
    virConnectDomainEventDeregister(conn, lifecycle_cb);
    for (size_t i = 0; i < nany; i++)
        if (any[i].callback_id >= 0)
            virConnectDomainEventDeregisterAny(conn, any[i].callback_id);
    int remaining = virConnectClose(conn);
    printf("Closing connection: %s\n", remaining < 0 ? "failed" : "done");
    if (args.uri == demo_uri) {
        char command[PATH_MAX + 16];
        snprintf(command, sizeof(command), "rm -rf '%s'", demo_dir);
        if (system(command) != 0)
            fprintf(stderr, "could not remove %s\n", demo_dir);
    }
    return remaining < 0 ? 1 : 0;
}
