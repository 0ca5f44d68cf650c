/*
 * What the benchmark programs share: clocks, /proc figures, the fd limit.
 * Header-only (static functions): each program is one file plus this.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Readers compare their clock with the fake QEMU's: the same clock in both. */
static inline long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A "Key:   N kB" (or plain count) line of /proc/self/status; -1 when absent. */
static inline long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    size_t len = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, len) == 0 && line[len] == ':')
            value = strtol(line + len + 1, NULL, 10);
    if (f)
        fclose(f);
    return value;
}

/* Every monitor is a file descriptor: 1000 of them exceed the usual soft limit. */
static inline void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

#define MAX_THREADS 64

/* CPU time of each thread of this process, and time it spent runnable but
 * waiting for a CPU (on this shared machine, other builds'), by thread name,
 * from the scheduler's nanosecond counters. Names, not IDs: they say whose
 * work it is (the library's monitor thread, the application's loop, ...). */
typedef struct {
    int count;
    int tid[MAX_THREADS];
    char name[MAX_THREADS][32];
    long long cpu_ns[MAX_THREADS];
    long long wait_ns[MAX_THREADS];
} thread_cpu_t;

static inline void thread_cpu_snapshot(thread_cpu_t *snap)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    snap->count = 0;
    while (dir && (entry = readdir(dir)) && snap->count < MAX_THREADS) {
        char path[300];
        FILE *f;
        int i = snap->count;
        if (entry->d_name[0] == '.')
            continue;
        snap->tid[i] = atoi(entry->d_name);
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (!fgets(snap->name[i], sizeof(snap->name[i]), f))
            snap->name[i][0] = 0;
        fclose(f);
        snap->name[i][strcspn(snap->name[i], "\n")] = 0;
        for (char *c = snap->name[i]; *c; c++)
            if (*c == ' ')
                *c = '_';
        snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", entry->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fscanf(f, "%lld %lld", &snap->cpu_ns[i], &snap->wait_ns[i]) == 2)
            snap->count++;
        fclose(f);
    }
    if (dir)
        closedir(dir);
}

/* Thread i of `after`, less what it had at `before`: CPU time, or with
 * `waiting`, time spent waiting for a CPU. */
static inline long long thread_cpu_spent(const thread_cpu_t *before, const thread_cpu_t *after, int i, int waiting)
{
    const long long *now = waiting ? after->wait_ns : after->cpu_ns;
    const long long *then = waiting ? before->wait_ns : before->cpu_ns;
    for (int j = 0; j < before->count; j++)
        if (before->tid[j] == after->tid[i])
            return now[i] - then[j];
    return now[i];
}

/* Prints "cpu_ns_per_event.NAME N" and "wait_ns_per_event.NAME N" for the
 * threads of each name that worked between the snapshots (threads sharing a
 * name are summed). */
static inline void print_thread_cpu(const thread_cpu_t *before, const thread_cpu_t *after, long long events)
{
    for (int i = 0; i < after->count && events > 0; i++) {
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= strcmp(after->name[k], after->name[i]) == 0;
        if (seen)
            continue;
        long long spent = 0, waited = 0;
        for (int j = i; j < after->count; j++)
            if (strcmp(after->name[j], after->name[i]) == 0) {
                spent += thread_cpu_spent(before, after, j, 0);
                waited += thread_cpu_spent(before, after, j, 1);
            }
        if (spent > 0) {
            printf("cpu_ns_per_event.%s %.1f\n", after->name[i], (double)spent / events);
            printf("wait_ns_per_event.%s %.1f\n", after->name[i], (double)waited / events);
        }
    }
}

#endif
