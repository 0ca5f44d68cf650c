/* A remote connection whose daemon goes away, as the client reports it.
 *
 *   remote_closed URI PID exit       terminates the daemon (PID): it exits
 *   remote_closed URI PID eof        stops the daemon, makes a call, kills
 *                                    the daemon while the call waits
 *   remote_closed URI PID keepalive  keepalive 1 s x 1, stops the daemon,
 *                                    makes a call that keepalive ends, and
 *                                    lets the daemon go on at the end
 *
 * Then it waits for the close callback and makes calls on the closed
 * connection. Each line says what a call returned and the error it left
 * (code, domain, level, message): the same program built against real
 * libvirt and against ours must print the same lines. The default loop runs
 * in a thread of its own throughout, as an application's would. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static volatile int stop_loop;
static volatile int close_reason = -1;
static volatile int close_calls;

static void *run_loop(void *opaque)
{
    (void)opaque;
    while (!stop_loop)
        virEventRunDefaultImpl();
    return NULL;
}

/* A timer that keeps the loop iterating, so that it sees stop_loop. */
static void tick(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    (void)opaque;
    close_reason = reason;
    close_calls++;
}

static void report(const char *what, long rc)
{
    virErrorPtr err = virGetLastError();
    if (err)
        printf("%s: %ld, code %d domain %d level %d: %s\n", what, rc, err->code, err->domain, err->level,
               err->message ? err->message : "(null)");
    else
        printf("%s: %ld, no error\n", what, rc);
    fflush(stdout);
    virResetLastError();
}

static void report_string(const char *what, char *got)
{
    report(what, got ? 0 : -1);
    free(got);
}

static void *call_in_flight(void *opaque)
{
    report_string("in flight: virConnectGetHostname", virConnectGetHostname(opaque));
    return NULL;
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn, (void)dom, (void)event, (void)detail, (void)opaque;
    return 0;
}

static void calls_on_closed(virConnectPtr conn)
{
    report_string("virConnectGetHostname", virConnectGetHostname(conn));
    virDomainPtr dom = virDomainLookupByName(conn, "test");
    report("virDomainLookupByName", dom ? 0 : -1);
    if (dom)
        virDomainFree(dom);
    report("virConnectNumOfDomains", virConnectNumOfDomains(conn));
    virDomainPtr *domains = NULL;
    int n = virConnectListAllDomains(conn, &domains, 0);
    report("virConnectListAllDomains", n);
    for (int i = 0; i < n; i++)
        virDomainFree(domains[i]);
    free(domains);
    report("virConnectIsAlive", virConnectIsAlive(conn));
    report("virConnectSetKeepAlive", virConnectSetKeepAlive(conn, 5, 3));
    int id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
    report("virConnectDomainEventRegisterAny", id < 0 ? -1 : 0);
    report("virConnectUnregisterCloseCallback", virConnectUnregisterCloseCallback(conn, on_close));
    /* Again, now that the failures above are known. */
    report_string("virConnectGetHostname again", virConnectGetHostname(conn));
}

static void wait_close(void)
{
    time_t start = time(NULL);
    while (close_reason < 0 && time(NULL) - start < 20)
        usleep(10000);
    printf("close callback: reason %d, %d call(s)\n", close_reason, close_calls);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    pid_t daemon = (pid_t)atoi(argv[2]);
    int keepalive = strcmp(argv[3], "keepalive") == 0;
    int in_flight = keepalive || strcmp(argv[3], "eof") == 0;
    if (!in_flight && strcmp(argv[3], "exit") != 0)
        return 2;
    if (virEventRegisterDefaultImpl() < 0)
        return 2;
    int timer = virEventAddTimeout(50, tick, NULL, NULL);
    pthread_t loop;
    pthread_create(&loop, NULL, run_loop, NULL);

    virConnectPtr conn = virConnectOpen(argv[1]);
    if (!conn) {
        report("virConnectOpen", -1);
        return 1;
    }
    report("virConnectRegisterCloseCallback", virConnectRegisterCloseCallback(conn, on_close, NULL, NULL));
    if (keepalive)
        report("virConnectSetKeepAlive", virConnectSetKeepAlive(conn, 1, 1));
    report("virConnectIsAlive", virConnectIsAlive(conn));

    if (in_flight) {
        kill(daemon, SIGSTOP);
        pthread_t call;
        pthread_create(&call, NULL, call_in_flight, conn);
        if (!keepalive) {
            /* The call is sent and waits for its reply. */
            usleep(500000);
            kill(daemon, SIGKILL);
        }
        pthread_join(call, NULL);
    } else {
        kill(daemon, SIGTERM);
    }
    wait_close();
    calls_on_closed(conn);
    if (keepalive)
        kill(daemon, SIGCONT);

    report("virConnectClose", virConnectClose(conn));
    stop_loop = 1;
    pthread_join(loop, NULL);
    virEventRemoveTimeout(timer);
    return 0;
}
