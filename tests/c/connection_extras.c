/*
 * The connection calls libvirt's event programs make besides registration:
 * close callbacks and keepalive. In-process drivers have no transport, so,
 * as with libvirt's own in-process drivers, a close callback is accepted and
 * never called; keepalive must not fail (event-test.c stops when it does).
 */
#include "tap.h"

static int closes;
static int frees;

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    (void)reason;
    (void)opaque;
    closes++;
}

static void on_close_2(virConnectPtr conn, int reason, void *opaque)
{
    on_close(conn, reason, opaque);
}

static void count_free(void *opaque)
{
    (void)opaque;
    frees++;
}

int main(void)
{
    tap_init();
    virConnectPtr conn = virConnectOpen("test:///default");
    ok(conn != NULL, "open test:///default", "%s", virGetLastErrorMessage());
    if (!conn)
        return tap_done();

    ok_int(virConnectRegisterCloseCallback(conn, on_close, NULL, count_free), 0, "RegisterCloseCallback returns 0");
    ok_no_error("RegisterCloseCallback");
    ok_int(virConnectRegisterCloseCallback(conn, on_close_2, NULL, count_free), 0,
           "a second close callback is accepted too");
    ok_int(virConnectRegisterCloseCallback(conn, NULL, NULL, NULL), -1, "a NULL close callback is refused");
    ok_error("RegisterCloseCallback(NULL)", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "cb in virConnectRegisterCloseCallback must not be NULL");
    ok_int(virConnectUnregisterCloseCallback(conn, on_close), 0, "UnregisterCloseCallback returns 0");
    ok_int(virConnectUnregisterCloseCallback(conn, on_close), 0, "unregistering again returns 0");
    ok_int(virConnectUnregisterCloseCallback(conn, NULL), -1, "unregistering NULL is refused");
    ok_error("UnregisterCloseCallback(NULL)", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
             "cb in virConnectUnregisterCloseCallback must not be NULL");
    ok_int(virConnectRegisterCloseCallback(NULL, on_close, NULL, NULL), -1, "a NULL connection is refused");
    ok_error("RegisterCloseCallback(NULL conn)", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectRegisterCloseCallback");

    ok(virConnectSetKeepAlive(conn, 5, 3) >= 0, "SetKeepAlive does not fail on an in-process connection",
       "%s", virGetLastErrorMessage());
    ok_int(virConnectSetKeepAlive(NULL, 5, 3), -1, "SetKeepAlive on a NULL connection fails");
    ok_error("SetKeepAlive(NULL)", VIR_ERR_INVALID_CONN, VIR_FROM_DOMAIN,
             "invalid connection pointer in virConnectSetKeepAlive");

    ok_int(virConnectClose(conn), 0, "close");
    ok_int(closes, 0, "an in-process connection never calls its close callback");
    ok_int(frees, 0, "nor its free function");
    return tap_done();
}
