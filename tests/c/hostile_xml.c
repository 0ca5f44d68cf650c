/*
 * XML documents nested far deeper than libxml2 allows (100,000 levels),
 * through every entry point of test:///default that parses XML: each call
 * fails with VIR_ERR_XML_DETAIL, nothing crashes, and the connection keeps
 * working. 257 levels, libxml2's limit, are still accepted.
 * Passes against real libvirt 9.0 and against virt-events.
 */
#include "tap.h"
#include <stdlib.h>
#include <string.h>

/* `head`, then `levels` nested <a> elements, then `tail`. */
static char *nested(const char *head, int levels, const char *tail)
{
    size_t size = strlen(head) + (size_t)levels * 7 + strlen(tail) + 1;
    char *doc = malloc(size);
    char *p = doc;
    p += sprintf(p, "%s", head);
    for (int i = 0; i < levels; i++, p += 3)
        memcpy(p, "<a>", 3);
    for (int i = 0; i < levels; i++, p += 4)
        memcpy(p, "</a>", 4);
    strcpy(p, tail);
    return doc;
}

#define DOMAIN_HEAD "<domain type='test'><name>deep</name><memory>1024</memory><os><type>hvm</type></os><metadata>"
#define DOMAIN_TAIL "</metadata></domain>"
#define DEEP 100000

static void expect_xml_detail(const char *what, int failed)
{
    ok(failed, what, "the call succeeded");
    ok_int(virGetLastErrorCode(), VIR_ERR_XML_DETAIL, what);
}

static void quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

int main(void)
{
    tap_init();
    virSetErrorFunc(NULL, quiet);
    virConnectPtr conn = virConnectOpen("test:///default");
    ok(conn != NULL, "open test:///default", "%s", virGetLastErrorMessage());
    if (!conn)
        return tap_done();

    char *doc = nested(DOMAIN_HEAD, DEEP, DOMAIN_TAIL);
    virDomainPtr dom = virDomainDefineXML(conn, doc);
    expect_xml_detail("virDomainDefineXML refuses 100,000 levels", dom == NULL);
    dom = virDomainCreateXML(conn, doc, 0);
    expect_xml_detail("virDomainCreateXML refuses 100,000 levels", dom == NULL);
    free(doc);

    virDomainPtr test = virDomainLookupByName(conn, "test");
    ok(test != NULL, "the connection still works", "%s", virGetLastErrorMessage());
    doc = nested("", DEEP, "");
    int rc = virDomainSetMetadata(test, VIR_DOMAIN_METADATA_ELEMENT, doc, "x", "http://example.org/", 0);
    expect_xml_detail("virDomainSetMetadata refuses 100,000 levels", rc < 0);
    free(doc);

    doc = nested("<network><name>deep</name><bridge name='deep0'/><metadata>", DEEP, "</metadata></network>");
    virNetworkPtr net = virNetworkDefineXML(conn, doc);
    expect_xml_detail("virNetworkDefineXML refuses 100,000 levels", net == NULL);
    free(doc);

    /* The domain, the metadata element and 255 <a>: 257 levels. */
    doc = nested(DOMAIN_HEAD, 255, DOMAIN_TAIL);
    dom = virDomainDefineXML(conn, doc);
    ok(dom != NULL, "257 levels are accepted", "%s", virGetLastErrorMessage());
    free(doc);
    if (dom) {
        ok_int(virDomainUndefine(dom), 0, "undefine it");
        virDomainFree(dom);
    }
    doc = nested(DOMAIN_HEAD, 256, DOMAIN_TAIL);
    dom = virDomainDefineXML(conn, doc);
    expect_xml_detail("258 levels are refused", dom == NULL);
    free(doc);

    if (test)
        virDomainFree(test);
    virConnectClose(conn);
    return tap_done();
}
