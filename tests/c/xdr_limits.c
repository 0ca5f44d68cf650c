/* The array limits of libvirt 9.0's RPC protocol, as its own XDR routines
 * (exported by the real libvirt.so.0 under LIBVIRT_PRIVATE_9.0.0) enforce
 * them: for each message, a body whose array holds LIMIT items decodes and
 * one of LIMIT + 1 items does not.
 *
 *   xdr_limits NAME LIMIT ...   prints "NAME LIMIT ok" or "NAME LIMIT wrong"
 *
 * Linked with the real libvirt.so.0 and libtirpc.so.3 (libvirt0's), no
 * headers: the XDR stream is libtirpc's, handled through its own calls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*xdrproc)(void *xdrs, void *object);

/* libtirpc's */
extern void xdrmem_create(void *xdrs, char *addr, unsigned int size, int op);
#define XDR_DECODE 1

/* libvirt's private XDR routines. */
extern int xdr_remote_connect_list_networks_ret(void *, void *);
extern int xdr_remote_connect_list_storage_pools_ret(void *, void *);
extern int xdr_remote_connect_list_defined_domains_ret(void *, void *);
extern int xdr_remote_connect_list_domains_ret(void *, void *);
extern int xdr_remote_node_list_devices_ret(void *, void *);
extern int xdr_remote_node_device_list_caps_ret(void *, void *);
extern int xdr_remote_auth_list_ret(void *, void *);
extern int xdr_remote_connect_list_all_domains_ret(void *, void *);
extern int xdr_remote_connect_list_all_networks_ret(void *, void *);
extern int xdr_remote_connect_list_all_storage_pools_ret(void *, void *);
extern int xdr_remote_connect_list_all_node_devices_ret(void *, void *);
extern int xdr_remote_domain_event_callback_tunable_msg(void *, void *);
extern int xdr_remote_domain_event_callback_job_completed_msg(void *, void *);
extern int xdr_remote_domain_event_graphics_msg(void *, void *);
extern int xdr_remote_node_get_cells_free_memory_ret(void *, void *);
extern int xdr_remote_domain_get_scheduler_parameters_ret(void *, void *);
extern int xdr_remote_domain_memory_stats_ret(void *, void *);

/* A body: `head` words before the array's count, then `count` items of
 * `item` words each (all zero: empty strings, zero numbers, the UUIDs'
 * bytes; a typed parameter is an int), then `tail` words. */
struct shape {
    const char *name;
    xdrproc decode;
    unsigned head, item, tail;
    /* The word of an item that is a typed parameter's type, or -1. */
    int type_word;
};

/* remote_nonnull_domain: a name, a UUID, an ID. */
#define DOMAIN_WORDS (1 + 4 + 1)

static const struct shape shapes[] = {
    {"NETWORK_LIST_MAX", xdr_remote_connect_list_networks_ret, 0, 1, 0, -1},
    {"STORAGE_POOL_LIST_MAX", xdr_remote_connect_list_storage_pools_ret, 0, 1, 0, -1},
    {"DOMAIN_LIST_MAX names", xdr_remote_connect_list_defined_domains_ret, 0, 1, 0, -1},
    {"DOMAIN_LIST_MAX ids", xdr_remote_connect_list_domains_ret, 0, 1, 0, -1},
    {"NODE_DEVICE_LIST_MAX", xdr_remote_node_list_devices_ret, 0, 1, 0, -1},
    {"NODE_DEVICE_CAPS_LIST_MAX", xdr_remote_node_device_list_caps_ret, 0, 1, 0, -1},
    {"AUTH_TYPE_LIST_MAX", xdr_remote_auth_list_ret, 0, 1, 0, -1},
    {"DOMAIN_LIST_MAX all", xdr_remote_connect_list_all_domains_ret, 0, DOMAIN_WORDS, 1, -1},
    {"NETWORK_LIST_MAX all", xdr_remote_connect_list_all_networks_ret, 0, 5, 1, -1},
    {"STORAGE_POOL_LIST_MAX all", xdr_remote_connect_list_all_storage_pools_ret, 0, 5, 1, -1},
    {"NODE_DEVICE_LIST_MAX all", xdr_remote_connect_list_all_node_devices_ret, 0, 1, 1, -1},
    /* callbackID, domain; a parameter: its field, its type (1, int), its value */
    {"TUNABLE_MAX", xdr_remote_domain_event_callback_tunable_msg, 1 + DOMAIN_WORDS, 3, 0, 1},
    {"JOB_STATS_MAX", xdr_remote_domain_event_callback_job_completed_msg, 1 + DOMAIN_WORDS, 3, 0, 1},
    /* domain, phase, two addresses (family, node, service), auth scheme;
     * an identity: its type and name */
    {"GRAPHICS_IDENTITY_MAX", xdr_remote_domain_event_graphics_msg, DOMAIN_WORDS + 1 + 3 + 3 + 1, 2, 0, -1},
    /* a cell's free memory: a hyper */
    {"NODE_MAX_CELLS", xdr_remote_node_get_cells_free_memory_ret, 0, 2, 0, -1},
    {"SCHEDULER_PARAMETERS_MAX", xdr_remote_domain_get_scheduler_parameters_ret, 0, 3, 0, 1},
    /* a statistic: its tag, its value (a hyper) */
    {"MEMORY_STATS_MAX", xdr_remote_domain_memory_stats_ret, 0, 3, 0, -1},
};

/* Whether `shape` decodes with `count` items. */
static int decodes(const struct shape *shape, unsigned count)
{
    size_t words = shape->head + 1 + (size_t)count * shape->item + shape->tail;
    uint32_t *body = calloc(words, sizeof(uint32_t));
    /* An XDR stream, whatever its layout: room enough, aligned. */
    static long double xdrs[32];
    static char object[256];
    if (!body)
        abort();
    body[shape->head] = __builtin_bswap32(count);
    for (unsigned i = 0; shape->type_word >= 0 && i < count; i++)
        body[shape->head + 1 + (size_t)i * shape->item + shape->type_word] = __builtin_bswap32(1);
    memset(object, 0, sizeof(object));
    xdrmem_create(xdrs, (char *)body, (unsigned)(words * sizeof(uint32_t)), XDR_DECODE);
    int ok = shape->decode(xdrs, object) != 0;
    free(body); /* what the decoder allocated stays: this program ends soon */
    return ok;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const struct shape *shape = NULL;
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
            if (strcmp(shapes[s].name, argv[i]) == 0)
                shape = &shapes[s];
        if (!shape) {
            printf("%s unknown\n", argv[i]);
            continue;
        }
        unsigned limit = (unsigned)strtoul(argv[i + 1], NULL, 10);
        int right = decodes(shape, limit) && !decodes(shape, limit + 1);
        printf("%s %u %s\n", shape->name, limit, right ? "ok" : "wrong");
    }
    return 0;
}
