/*
 * ABI of the public headers: struct sizes and field offsets, enum values,
 * macros, callback typedef shapes and namespace hygiene.
 *
 * Every value is checked at run time (one TAP line each) and, unless
 * ABI_RUNTIME_ONLY is defined, also with _Static_assert so that a wrong
 * header fails to compile.  Build with -DABI_RUNTIME_ONLY to see every
 * mismatch at once.
 */
#define VIR_ENUM_SENTINELS 1
#include "tap.h"

#include <stddef.h>

/* namespace hygiene: the 2010 example defines these itself */
#ifdef DEBUG
# define HDR_DEFINES_DEBUG 1
#else
# define HDR_DEFINES_DEBUG 0
#endif
#ifdef DEBUG0
# define HDR_DEFINES_DEBUG0 1
#else
# define HDR_DEFINES_DEBUG0 0
#endif
#ifdef STREQ
# define HDR_DEFINES_STREQ 1
#else
# define HDR_DEFINES_STREQ 0
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#define OFF(type, field) ((long long)offsetof(type, field))
#define SZ(type) ((long long)sizeof(type))

#define LAYOUT(X) \
    X(SZ(virDomainEventGraphicsAddress), 24) \
    X(OFF(virDomainEventGraphicsAddress, family), 0) \
    X(OFF(virDomainEventGraphicsAddress, node), 8) \
    X(OFF(virDomainEventGraphicsAddress, service), 16) \
    X(SZ(virDomainEventGraphicsSubjectIdentity), 16) \
    X(OFF(virDomainEventGraphicsSubjectIdentity, type), 0) \
    X(OFF(virDomainEventGraphicsSubjectIdentity, name), 8) \
    X(SZ(virDomainEventGraphicsSubject), 16) \
    X(OFF(virDomainEventGraphicsSubject, nidentity), 0) \
    X(OFF(virDomainEventGraphicsSubject, identities), 8) \
    X(SZ(virError), 80) \
    X(OFF(virError, code), 0) \
    X(OFF(virError, domain), 4) \
    X(OFF(virError, message), 8) \
    X(OFF(virError, level), 16) \
    X(OFF(virError, conn), 24) \
    X(OFF(virError, dom), 32) \
    X(OFF(virError, str1), 40) \
    X(OFF(virError, str2), 48) \
    X(OFF(virError, str3), 56) \
    X(OFF(virError, int1), 64) \
    X(OFF(virError, int2), 68) \
    X(OFF(virError, net), 72) \
    X(SZ(virDomainInfo), 40) \
    X(OFF(virDomainInfo, state), 0) \
    X(OFF(virDomainInfo, maxMem), 8) \
    X(OFF(virDomainInfo, memory), 16) \
    X(OFF(virDomainInfo, nrVirtCpu), 24) \
    X(OFF(virDomainInfo, cpuTime), 32) \
    X(SZ(((virDomainInfo *)0)->state), 1) \
    X(SZ(((virDomainInfo *)0)->nrVirtCpu), 2)

#define VALUES(X) \
    X(LIBVIR_VERSION_NUMBER, 9000000) \
    X(VIR_UUID_BUFLEN, 16) \
    X(VIR_UUID_STRING_BUFLEN, 37) \
    X(VIR_CONNECT_RO, 1) \
    /* lifecycle events */ \
    X(VIR_DOMAIN_EVENT_DEFINED, 0) \
    X(VIR_DOMAIN_EVENT_UNDEFINED, 1) \
    X(VIR_DOMAIN_EVENT_STARTED, 2) \
    X(VIR_DOMAIN_EVENT_SUSPENDED, 3) \
    X(VIR_DOMAIN_EVENT_RESUMED, 4) \
    X(VIR_DOMAIN_EVENT_STOPPED, 5) \
    X(VIR_DOMAIN_EVENT_SHUTDOWN, 6) \
    X(VIR_DOMAIN_EVENT_PMSUSPENDED, 7) \
    X(VIR_DOMAIN_EVENT_CRASHED, 8) \
    X(VIR_DOMAIN_EVENT_DEFINED_ADDED, 0) \
    X(VIR_DOMAIN_EVENT_DEFINED_UPDATED, 1) \
    X(VIR_DOMAIN_EVENT_DEFINED_RENAMED, 2) \
    X(VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT, 3) \
    X(VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, 0) \
    X(VIR_DOMAIN_EVENT_UNDEFINED_RENAMED, 1) \
    X(VIR_DOMAIN_EVENT_STARTED_BOOTED, 0) \
    X(VIR_DOMAIN_EVENT_STARTED_MIGRATED, 1) \
    X(VIR_DOMAIN_EVENT_STARTED_RESTORED, 2) \
    X(VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT, 3) \
    X(VIR_DOMAIN_EVENT_STARTED_WAKEUP, 4) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, 0) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, 1) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, 2) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG, 3) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_RESTORED, 4) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT, 5) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR, 6) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, 7) \
    X(VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, 8) \
    X(VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, 0) \
    X(VIR_DOMAIN_EVENT_RESUMED_MIGRATED, 1) \
    X(VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT, 2) \
    X(VIR_DOMAIN_EVENT_RESUMED_POSTCOPY, 3) \
    X(VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED, 4) \
    X(VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, 0) \
    X(VIR_DOMAIN_EVENT_STOPPED_DESTROYED, 1) \
    X(VIR_DOMAIN_EVENT_STOPPED_CRASHED, 2) \
    X(VIR_DOMAIN_EVENT_STOPPED_MIGRATED, 3) \
    X(VIR_DOMAIN_EVENT_STOPPED_SAVED, 4) \
    X(VIR_DOMAIN_EVENT_STOPPED_FAILED, 5) \
    X(VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, 6) \
    X(VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED, 0) \
    X(VIR_DOMAIN_EVENT_SHUTDOWN_GUEST, 1) \
    X(VIR_DOMAIN_EVENT_SHUTDOWN_HOST, 2) \
    X(VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY, 0) \
    X(VIR_DOMAIN_EVENT_PMSUSPENDED_DISK, 1) \
    X(VIR_DOMAIN_EVENT_CRASHED_PANICKED, 0) \
    X(VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED, 1) \
    /* event ids */ \
    X(VIR_DOMAIN_EVENT_ID_LIFECYCLE, 0) \
    X(VIR_DOMAIN_EVENT_ID_REBOOT, 1) \
    X(VIR_DOMAIN_EVENT_ID_RTC_CHANGE, 2) \
    X(VIR_DOMAIN_EVENT_ID_WATCHDOG, 3) \
    X(VIR_DOMAIN_EVENT_ID_IO_ERROR, 4) \
    X(VIR_DOMAIN_EVENT_ID_GRAPHICS, 5) \
    /* watchdog actions */ \
    X(VIR_DOMAIN_EVENT_WATCHDOG_NONE, 0) \
    X(VIR_DOMAIN_EVENT_WATCHDOG_PAUSE, 1) \
    X(VIR_DOMAIN_EVENT_WATCHDOG_RESET, 2) \
    X(VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF, 3) \
    X(VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN, 4) \
    X(VIR_DOMAIN_EVENT_WATCHDOG_DEBUG, 5) \
    X(VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI, 6) \
    /* io error actions */ \
    X(VIR_DOMAIN_EVENT_IO_ERROR_NONE, 0) \
    X(VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, 1) \
    X(VIR_DOMAIN_EVENT_IO_ERROR_REPORT, 2) \
    /* graphics */ \
    X(VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, 0) \
    X(VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE, 1) \
    X(VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT, 2) \
    X(VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4, 0) \
    X(VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6, 1) \
    X(VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX, 2) \
    /* event loop */ \
    X(VIR_EVENT_HANDLE_READABLE, 1) \
    X(VIR_EVENT_HANDLE_WRITABLE, 2) \
    X(VIR_EVENT_HANDLE_ERROR, 4) \
    X(VIR_EVENT_HANDLE_HANGUP, 8) \
    /* domain states and the reasons the test driver reports */ \
    X(VIR_DOMAIN_NOSTATE, 0) \
    X(VIR_DOMAIN_RUNNING, 1) \
    X(VIR_DOMAIN_BLOCKED, 2) \
    X(VIR_DOMAIN_PAUSED, 3) \
    X(VIR_DOMAIN_SHUTDOWN, 4) \
    X(VIR_DOMAIN_SHUTOFF, 5) \
    X(VIR_DOMAIN_CRASHED, 6) \
    X(VIR_DOMAIN_PMSUSPENDED, 7) \
    X(VIR_DOMAIN_RUNNING_UNKNOWN, 0) \
    X(VIR_DOMAIN_RUNNING_BOOTED, 1) \
    X(VIR_DOMAIN_RUNNING_UNPAUSED, 5) \
    X(VIR_DOMAIN_PAUSED_USER, 1) \
    X(VIR_DOMAIN_SHUTOFF_UNKNOWN, 0) \
    X(VIR_DOMAIN_SHUTOFF_SHUTDOWN, 1) \
    X(VIR_DOMAIN_SHUTOFF_DESTROYED, 2) \
    X(VIR_CONNECT_LIST_DOMAINS_ACTIVE, 1) \
    X(VIR_CONNECT_LIST_DOMAINS_INACTIVE, 2) \
    X(VIR_CONNECT_LIST_DOMAINS_PERSISTENT, 4) \
    X(VIR_CONNECT_LIST_DOMAINS_TRANSIENT, 8) \
    /* errors */ \
    X(VIR_ERR_NONE, 0) \
    X(VIR_ERR_WARNING, 1) \
    X(VIR_ERR_ERROR, 2) \
    X(VIR_ERR_OK, 0) \
    X(VIR_ERR_INTERNAL_ERROR, 1) \
    X(VIR_ERR_NO_MEMORY, 2) \
    X(VIR_ERR_NO_SUPPORT, 3) \
    X(VIR_ERR_INVALID_CONN, 6) \
    X(VIR_ERR_INVALID_DOMAIN, 7) \
    X(VIR_ERR_INVALID_ARG, 8) \
    X(VIR_ERR_OPERATION_FAILED, 9) \
    X(VIR_ERR_XML_ERROR, 27) \
    X(VIR_ERR_RPC, 39) \
    X(VIR_ERR_NO_DOMAIN, 42) \
    X(VIR_ERR_OPERATION_INVALID, 55) \
    X(VIR_ERR_CONFIG_UNSUPPORTED, 67) \
    X(VIR_FROM_NONE, 0) \
    X(VIR_FROM_DOM, 6) \
    X(VIR_FROM_RPC, 7) \
    X(VIR_FROM_QEMU, 10) \
    X(VIR_FROM_TEST, 12) \
    X(VIR_FROM_REMOTE, 13) \
    X(VIR_FROM_DOMAIN, 20) \
    X(VIR_FROM_EVENT, 40)

#ifndef ABI_RUNTIME_ONLY
# define STATIC_EQ(expr, val) _Static_assert((expr) == (val), #expr " == " #val);
LAYOUT(STATIC_EQ)
VALUES(STATIC_EQ)
_Static_assert(VIR_DOMAIN_EVENT_ID_LAST >= 6, "VIR_DOMAIN_EVENT_ID_LAST >= 6");
_Static_assert(!HDR_DEFINES_DEBUG && !HDR_DEFINES_DEBUG0 && !HDR_DEFINES_STREQ,
               "the headers must not define DEBUG, DEBUG0 or STREQ");
#endif

/* ---- callback typedef shapes (a mismatch is a -Werror compile error) ---- */

static int cb_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *o)
{
    (void)c; (void)d; (void)event; (void)detail; (void)o;
    return 0;
}
static void cb_generic(virConnectPtr c, virDomainPtr d, void *o)
{
    (void)c; (void)d; (void)o;
}
static void cb_rtc(virConnectPtr c, virDomainPtr d, long long off, void *o)
{
    (void)c; (void)d; (void)off; (void)o;
}
static void cb_watchdog(virConnectPtr c, virDomainPtr d, int action, void *o)
{
    (void)c; (void)d; (void)action; (void)o;
}
static void cb_ioerror(virConnectPtr c, virDomainPtr d, const char *src, const char *alias,
                      int action, void *o)
{
    (void)c; (void)d; (void)src; (void)alias; (void)action; (void)o;
}
static void cb_free(void *o)
{
    (void)o;
}
static void cb_handle(int watch, int fd, int events, void *o)
{
    (void)watch; (void)fd; (void)events; (void)o;
}
static void cb_timeout(int timer, void *o)
{
    (void)timer; (void)o;
}
static void cb_error(void *ud, virErrorPtr e)
{
    (void)ud; (void)e;
}

int main(void)
{
    virConnectDomainEventCallback f_lc = cb_lifecycle;
    virConnectDomainEventGenericCallback f_gen = cb_generic;
    virConnectDomainEventRTCChangeCallback f_rtc = cb_rtc;
    virConnectDomainEventWatchdogCallback f_wd = cb_watchdog;
    virConnectDomainEventIOErrorCallback f_io = cb_ioerror;
    virFreeCallback f_free = cb_free;
    virEventHandleCallback f_h = cb_handle;
    virEventTimeoutCallback f_t = cb_timeout;
    virErrorFunc f_e = cb_error;
    virDomainEventGraphicsAddress addr;
    virDomainEventGraphicsSubjectIdentity ident;
    virDomainEventGraphicsSubject subj;
    unsigned long lib = 0;

    tap_init();

#define RUNTIME_EQ(expr, val) ok_int((long long)(expr), (long long)(val), #expr " == " #val);
    LAYOUT(RUNTIME_EQ)
    VALUES(RUNTIME_EQ)
    ok(VIR_DOMAIN_EVENT_ID_LAST >= 6, "VIR_DOMAIN_EVENT_ID_LAST >= 6 (VIR_ENUM_SENTINELS)",
       "is %d", (int)VIR_DOMAIN_EVENT_ID_LAST);
    ok(!HDR_DEFINES_DEBUG, "the headers do not define DEBUG", " ");
    ok(!HDR_DEFINES_DEBUG0, "the headers do not define DEBUG0", " ");
    ok(!HDR_DEFINES_STREQ, "the headers do not define STREQ", " ");

    ok(VIR_DOMAIN_EVENT_CALLBACK(cb_lifecycle) ==
       (virConnectDomainEventGenericCallback)(void (*)(void))cb_lifecycle,
       "VIR_DOMAIN_EVENT_CALLBACK yields the same function pointer", " ");
    ok(f_lc && f_gen && f_rtc && f_wd && f_io && f_free && f_h && f_t && f_e,
       "callback typedefs accept functions of the documented shapes", " ");

    /* field types: pointers are pointers, ints are ints */
    memset(&addr, 0, sizeof(addr));
    memset(&subj, 0, sizeof(subj));
    ident.type = "x509dname";
    ident.name = "CN=foo";
    addr.family = VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6;
    addr.node = "::1";
    addr.service = "5901";
    subj.nidentity = 1;
    subj.identities = &ident;
    ok(subj.identities[0].name[0] == 'C' && addr.node[0] == ':' && addr.family == 1,
       "graphics structs are usable with string literals", " ");

    ok(virConnectAuthPtrDefault != NULL, "virConnectAuthPtrDefault is an exported, non-NULL "
       "data symbol", " ");
    ok_int(virGetVersion(&lib, NULL, NULL), 0, "virGetVersion returns 0");
    ok_int((long long)lib, LIBVIR_VERSION_NUMBER,
           "virGetVersion reports LIBVIR_VERSION_NUMBER");
    return tap_done();
}
#pragma GCC diagnostic pop
