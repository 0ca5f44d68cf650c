/*
 * The public virEventAddHandle/AddTimeout/... wrappers on the default event
 * loop (virEventRegisterDefaultImpl + virEventRunDefaultImpl): handles fire
 * on readable pipes, removed handles and timers stay silent, timers fire on
 * time, ids start at 1 and are not reused, the ff callback runs after
 * removal.  No libvirt connection is involved.
 */
#include "tap.h"

#include <fcntl.h>

typedef struct {
    const char *name;
    int fd;            /* pipe read end, drained by the callback */
    int calls;
    int last_watch, last_fd, last_events;
    int frees;
    int remove_other;  /* watch to remove from inside the callback, or 0 */
    int remove_other_ret;
} hrec;

typedef struct {
    const char *name;
    int calls;
    int last_timer;
    int frees;
} trec;

static void hcb(int watch, int fd, int events, void *opaque)
{
    hrec *h = opaque;
    char buf[64];
    h->calls++;
    h->last_watch = watch;
    h->last_fd = fd;
    h->last_events = events;
    logf_("h:%s", h->name);
    if (events & VIR_EVENT_HANDLE_READABLE) {
        if (read(fd, buf, sizeof(buf)) < 0) {
            /* ignore */
        }
    }
    if (h->remove_other) {
        h->remove_other_ret = virEventRemoveHandle(h->remove_other);
        h->remove_other = 0;
    }
}

static void hff(void *opaque)
{
    ((hrec *)opaque)->frees++;
}

static void tcb(int timer, void *opaque)
{
    trec *t = opaque;
    t->calls++;
    t->last_timer = timer;
    logf_("t:%s", t->name);
}

static void tff(void *opaque)
{
    ((trec *)opaque)->frees++;
}

static void guard_cb(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static void run_once(void)
{
    int r = virEventRunDefaultImpl();
    if (r != 0)
        ok(0, "virEventRunDefaultImpl returns 0", "returned %d", r);
}

/* One iteration that cannot block for longer than 'ms' milliseconds. */
static void run_guarded(int ms)
{
    int g = virEventAddTimeout(ms, guard_cb, NULL, NULL);
    run_once();
    if (g >= 0)
        virEventRemoveTimeout(g);
}

/* Run short iterations until *counter reaches target (at most 5): the
 * loop may spend an iteration on deferred ff callbacks after a removal. */
static void run_until(const int *counter, int target)
{
    for (int i = 0; i < 5 && *counter < target; i++)
        run_guarded(50);
}

/* Run a few short iterations (ff callbacks may be deferred to the loop). */
static void settle(void)
{
    for (int i = 0; i < 3; i++)
        run_guarded(20);
    log_reset();
}

static void put(int fd)
{
    if (write(fd, "x", 1) != 1)
        ok(0, "write to pipe", "failed");
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static int mkpipe(int fds[2])
{
    if (pipe(fds) < 0)
        return -1;
    /* non-blocking read end so that drain() never blocks */
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    return 0;
}

int main(void)
{
    int p1[2], p2[2], p3[2], p4[2];
    hrec h1 = {"h1", 0, 0, 0, 0, 0, 0, 0, 0}, h2 = {"h2", 0, 0, 0, 0, 0, 0, 0, 0};
    hrec h3 = {"h3", 0, 0, 0, 0, 0, 0, 0, 0}, h4 = {"h4", 0, 0, 0, 0, 0, 0, 0, 0};
    hrec hw = {"hw", 0, 0, 0, 0, 0, 0, 0, 0};
    trec t1 = {"t1", 0, 0, 0}, t2 = {"t2", 0, 0, 0}, t3 = {"t3", 0, 0, 0};
    int w1, w2, w3, w4, ww, id1, id2, id3, r;
    double start, elapsed;

    tap_init();
    ok_int(virEventRegisterDefaultImpl(), 0, "virEventRegisterDefaultImpl returns 0");

    if (mkpipe(p1) < 0 || mkpipe(p2) < 0 || mkpipe(p3) < 0 || mkpipe(p4) < 0) {
        ok(0, "pipe()", "failed");
        return tap_done();
    }
    h1.fd = p1[0]; h2.fd = p2[0]; h3.fd = p3[0]; h4.fd = p4[0];

    /* --- handles --------------------------------------------------------- */
    w1 = virEventAddHandle(p1[0], VIR_EVENT_HANDLE_READABLE, hcb, &h1, hff);
    ok_int(w1, 1, "the first handle watch id is 1");
    w2 = virEventAddHandle(p2[0], VIR_EVENT_HANDLE_READABLE, hcb, &h2, hff);
    ok_int(w2, 2, "the second handle watch id is 2");

    put(p1[1]);
    run_once();
    ok_log("h:h1", "a pipe write fires its handle (and only that one)");
    ok(h1.last_watch == w1 && h1.last_fd == p1[0] &&
       h1.last_events == VIR_EVENT_HANDLE_READABLE,
       "the handle callback gets the watch id, the fd and READABLE",
       "watch %d fd %d events %d", h1.last_watch, h1.last_fd, h1.last_events);

    put(p1[1]);
    put(p2[1]);
    r = virEventRemoveHandle(w1);
    ok_int(r, 0, "virEventRemoveHandle returns 0");
    ok_int(h1.frees + h2.frees, h1.frees, "removing h1 does not free h2");
    run_until(&h2.calls, 1);
    ok_log("h:h2", "a handle removed before the poll does not fire; another ready one does");
    drain(p1[0]);
    settle();
    ok_int(h1.frees, 1, "the ff of a removed handle runs exactly once");
    ok_int(h1.calls, 1, "the removed handle never fired again");
    ok_int(virEventRemoveHandle(w1), -1, "removing a handle twice returns -1");

    virEventUpdateHandle(w2, 0);
    put(p2[1]);
    run_guarded(100);
    ok(strstr(tap_log, "h:h2") == NULL, "a handle updated to events=0 does not fire",
       "log \"%s\"", tap_log);
    log_reset();
    virEventUpdateHandle(w2, VIR_EVENT_HANDLE_READABLE);
    run_once();
    ok_log("h:h2", "updating it back to READABLE makes it fire");

    /* a callback removing a later, also ready handle */
    w3 = virEventAddHandle(p3[0], VIR_EVENT_HANDLE_READABLE, hcb, &h3, hff);
    w4 = virEventAddHandle(p4[0], VIR_EVENT_HANDLE_READABLE, hcb, &h4, hff);
    ok_int(w3, 3, "watch ids are not reused (3)");
    ok_int(w4, 4, "watch ids are not reused (4)");
    h3.remove_other = w4;
    put(p3[1]);
    put(p4[1]);
    run_once();
    ok_log("h:h3", "a handle removed during dispatch by an earlier callback does not fire");
    ok_int(h3.remove_other_ret, 0, "virEventRemoveHandle inside a callback returns 0");
    drain(p4[0]);
    settle();
    ok_int(h4.frees, 1, "ff of the handle removed during dispatch runs once");
    ok_int(h4.calls, 0, "that handle never fired");

    ww = virEventAddHandle(p4[1], VIR_EVENT_HANDLE_WRITABLE, hcb, &hw, hff);
    ok_int(ww, 5, "next watch id is 5");
    run_once();
    ok_log("h:hw", "a writable pipe end fires with WRITABLE");
    ok_int(hw.last_events, VIR_EVENT_HANDLE_WRITABLE, "events is WRITABLE");
    ok_int(virEventRemoveHandle(ww), 0, "remove the writable handle");
    settle();

    /* --- timers ---------------------------------------------------------- */
    id1 = virEventAddTimeout(0, tcb, &t1, tff);
    ok(id1 >= 1, "virEventAddTimeout returns a positive timer id", "got %d", id1);
    run_once();
    ok_log("t:t1", "a 0 ms timer fires on the next iteration");
    ok_int(t1.last_timer, id1, "the timer callback gets its timer id");
    run_once();
    ok_log("t:t1", "a 0 ms timer fires again on every iteration");

    virEventUpdateTimeout(id1, -1);
    run_guarded(50);
    ok(strstr(tap_log, "t:t1") == NULL, "a timer updated to -1 does not fire",
       "log \"%s\"", tap_log);
    log_reset();

    id2 = virEventAddTimeout(100, tcb, &t2, tff);
    ok(id2 > id1, "timer ids increase", "id1 %d id2 %d", id1, id2);
    start = tap_now_ms();
    while (t2.calls == 0 && tap_now_ms() - start < 3000 * tap_slowdown())
        run_once();
    elapsed = tap_now_ms() - start;
    ok(t2.calls == 1 && elapsed >= 80 && elapsed < 1000 * tap_slowdown(),
       "a 100 ms timer fires once after about 100 ms", "calls %d after %.1f ms",
       t2.calls, elapsed);
    ok_int(virEventRemoveTimeout(id2), 0, "virEventRemoveTimeout returns 0");
    log_reset();

    id3 = virEventAddTimeout(0, tcb, &t3, tff);
    ok_int(virEventRemoveTimeout(id3), 0, "remove a 0 ms timer before it ran");
    put(p2[1]);
    run_until(&h2.calls, h2.calls + 1);
    ok_log("h:h2", "a removed timer does not fire (the ready handle does)");
    settle();
    ok_int(t3.calls, 0, "the removed timer never fired");
    ok_int(t3.frees, 1, "its ff ran exactly once");
    ok_int(t2.frees, 1, "the 100 ms timer's ff ran exactly once");
    ok_int(t1.frees, 0, "t1 (still registered) was not freed");
    ok_int(virEventRemoveTimeout(id3), -1, "removing a timer twice returns -1");

    virEventUpdateTimeout(id1, 0);
    run_once();
    ok_log("t:t1", "updating a disabled timer to 0 re-enables it");
    ok_int(virEventRemoveTimeout(id1), 0, "remove t1");
    ok_int(virEventRemoveHandle(w2), 0, "remove h2");
    ok_int(virEventRemoveHandle(w3), 0, "remove h3");
    settle();
    ok(t1.frees == 1 && h2.frees == 1 && h3.frees == 1 && hw.frees == 1,
       "every ff ran exactly once after removal", "t1 %d h2 %d h3 %d hw %d",
       t1.frees, h2.frees, h3.frees, hw.frees);
    ok(t1.calls == 3 && t2.calls == 1 && t3.calls == 0 && h1.calls == 1 && h2.calls == 3 && h3.calls == 1,
       "total callback counts", "t1 %d t2 %d t3 %d h1 %d h2 %d h3 %d", t1.calls, t2.calls,
       t3.calls, h1.calls, h2.calls, h3.calls);

    /* A negative descriptor is accepted and never fires (poll ignores it);
     * its free function runs once, on removal (valgrind: nothing leaks). */
    hrec hn = {"hn", 0, 0, 0, 0, 0, 0, 0, 0};
    int wn = virEventAddHandle(-1, VIR_EVENT_HANDLE_READABLE, hcb, &hn, hff);
    ok(wn > 0, "a handle on fd -1 is accepted", "got %d", wn);
    run_guarded(50);
    ok(hn.calls == 0 && hn.frees == 0, "it never fires", "calls %d frees %d", hn.calls, hn.frees);
    ok_int(virEventRemoveHandle(wn), 0, "remove it");
    settle();
    ok_int(hn.frees, 1, "its ff ran once");

    close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
    close(p3[0]); close(p3[1]); close(p4[0]); close(p4[1]);
    return tap_done();
}
