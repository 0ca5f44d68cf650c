/*
 * virDomainSetMetadata / virDomainGetMetadata on test:///default: argument
 * checks, where each kind of metadata lands, live versus persistent
 * definitions, and the METADATA_CHANGE event each successful change emits.
 * Passes against real libvirt 9.0 and against virt-events.
 */
#include "tap.h"
#include <stdlib.h>
#include <string.h>

#define EX "http://example.org/"

static char events[16][96];
static int nevents;

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
    (void)conn;
    (void)opaque;
    if (nevents < 16)
        snprintf(events[nevents++], sizeof(events[0]), "%s/%d %d %s", virDomainGetName(dom), (int)virDomainGetID(dom),
                 type, nsuri ? nsuri : "NULL");
}

static int get_is(virDomainPtr dom, int type, const char *uri, unsigned int flags, const char *want, const char *what)
{
    char *got = virDomainGetMetadata(dom, type, uri, flags);
    int pass = ok_str(got, want, what);
    free(got);
    return pass;
}

static int xml_has(virDomainPtr dom, unsigned int flags, const char *needle)
{
    char *xml = virDomainGetXMLDesc(dom, flags);
    int found = xml && strstr(xml, needle) != NULL;
    free(xml);
    return found;
}

int main(void)
{
    tap_init();
    virEventRegisterDefaultImpl();
    virConnectPtr conn = virConnectOpen("test:///default");
    virDomainPtr dom = conn ? virDomainLookupByName(conn, "test") : NULL;
    ok(dom != NULL, "open test:///default and look up 'test'", "%s", virGetLastErrorMessage());
    if (!dom)
        return tap_done();
    int id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_metadata), NULL, NULL);
    ok(id >= 0, "register for METADATA_CHANGE", "%s", virGetLastErrorMessage());

    /* Argument checks, in libvirt's order. */
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "a\nb", NULL, NULL, 0), -1, "a title with a newline");
    ok_error("title newline", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "metadata title can't contain newlines");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "x", "k", NULL, 0), -1, "a title with a key");
    ok_error("title key", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "key in virDomainSetMetadata must be NULL");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, "x", NULL, EX, 0), -1, "a description with a uri");
    ok_error("description uri", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "uri in virDomainSetMetadata must be NULL");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "<a/>", "k", NULL, 0), -1, "an element without uri");
    ok_error("element uri", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "uri in virDomainSetMetadata must not be NULL");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "<a/>", NULL, EX, 0), -1, "an element without key");
    ok_error("element key", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "key in virDomainSetMetadata must not be NULL");
    ok_int(virDomainSetMetadata(dom, 7, "x", NULL, NULL, 0), -1, "an unknown type");
    ok_error("unknown type", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "invalid argument: unknown metadata type '7'");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "x", NULL, NULL, 8), -1, "unknown flags");
    ok_error("unknown flags", VIR_ERR_INVALID_ARG, VIR_FROM_TEST,
             "unsupported flags (0x8) in function testDomainSetMetadata");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "<foo", "ex", EX, 0), -1, "malformed XML");
    ok_int(virGetLastErrorCode(), VIR_ERR_XML_DETAIL, "malformed XML is VIR_ERR_XML_DETAIL");
    ok_int(virDomainSetMetadata(NULL, 0, "x", NULL, NULL, 0), -1, "a NULL domain");
    ok_error("NULL domain", VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOM, "invalid domain pointer in virDomainSetMetadata");
    virConnectPtr ro = virConnectOpenReadOnly("test:///default");
    virDomainPtr rodom = virDomainLookupByName(ro, "test");
    ok_int(virDomainSetMetadata(rodom, VIR_DOMAIN_METADATA_TITLE, "x", NULL, NULL, 0), -1, "read-only connection");
    ok_error("read-only", VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN,
             "operation forbidden: read only access prevents virDomainSetMetadata");
    /* The secure and the migratable XML carry secrets: refused read-only. */
    ok(virDomainGetXMLDesc(rodom, VIR_DOMAIN_XML_SECURE) == NULL, "secure XML read-only", "%s", "XML returned");
    ok_error("secure XML", VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN,
             "operation forbidden: virDomainGetXMLDesc with secure flag");
    ok(virDomainGetXMLDesc(rodom, VIR_DOMAIN_XML_MIGRATABLE) == NULL, "migratable XML read-only", "%s", "XML returned");
    ok_error("migratable XML", VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN,
             "operation forbidden: virDomainGetXMLDesc with secure flag");
    virDomainFree(rodom);
    virConnectClose(ro);

    /* Each kind, then read back and shown in the XML. */
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "My title", NULL, NULL, 0), 0, "set the title");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, "Desc <&>", NULL, NULL, 0), 0, "set the description");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "<foo bar='1'>text<baz/></foo>", "ex", EX, 0), 0,
           "set an element");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "config", NULL, NULL, VIR_DOMAIN_AFFECT_CONFIG), 0,
           "set the persistent title of the running domain");
    get_is(dom, VIR_DOMAIN_METADATA_TITLE, NULL, 0, "My title", "the live title is unchanged");
    get_is(dom, VIR_DOMAIN_METADATA_TITLE, NULL, VIR_DOMAIN_AFFECT_CONFIG, "config", "the persistent title");
    get_is(dom, VIR_DOMAIN_METADATA_DESCRIPTION, NULL, 0, "Desc <&>", "the description");
    get_is(dom, VIR_DOMAIN_METADATA_ELEMENT, EX, 0, "<foo bar=\"1\">text<baz/></foo>", "the element, unprefixed");
    ok(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "http://nope/", 0) == NULL, "an absent namespace", "%s", "metadata returned");
    ok_error("absent", VIR_ERR_NO_DOMAIN_METADATA, VIR_FROM_DOMAIN,
             "metadata not found: Requested metadata element is not present");
    ok(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, EX, 0) == NULL, "a title asked with a uri", "%s", "metadata returned");
    ok_error("title uri", VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "uri in virDomainGetMetadata must be NULL");
    ok(xml_has(dom, 0, "<title>My title</title>\n  <description>Desc &lt;&amp;&gt;</description>\n  <metadata>\n"
                       "    <ex:foo xmlns:ex=\"" EX "\" bar=\"1\">text<ex:baz/></ex:foo>\n  </metadata>"),
       "the live XML shows them in libvirt's order and form", "%s", "not in the XML");
    ok(xml_has(dom, VIR_DOMAIN_XML_INACTIVE, "<title>config</title>"), "the inactive XML has the persistent title", "%s", "not in the XML");

    /* Removal, and the persistent definition taking over at stop. */
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL, EX, 0), 0, "remove the element");
    ok(!xml_has(dom, 0, "<metadata>"), "no metadata element is left", "%s", "still in the XML");
    ok_int(virDomainDestroy(dom), 0, "stop the domain");
    get_is(dom, VIR_DOMAIN_METADATA_TITLE, NULL, 0, "config", "the persistent title is now in effect");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "x", NULL, NULL, VIR_DOMAIN_AFFECT_LIVE), -1,
           "a live change to a stopped domain");
    ok_error("live while stopped", VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
             "Requested operation is not valid: domain is not running");
    ok_int(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, "", NULL, NULL, 0), 0, "clear the title");
    ok(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, NULL, 0) == NULL, "no title any more", "%s", "metadata returned");

    virEventRunDefaultImpl();
    const char *want[] = {"test/1 1 NULL", "test/1 0 NULL", "test/1 2 " EX, "test/1 1 NULL", "test/1 2 " EX,
                          "test/-1 1 NULL"};
    int nwant = (int)(sizeof(want) / sizeof(want[0]));
    ok_int(nevents, nwant, "one METADATA_CHANGE per successful change");
    for (int i = 0; i < nevents && i < nwant; i++)
        ok_str(events[i], want[i], "METADATA_CHANGE domain/id type nsuri");

    virConnectDomainEventDeregisterAny(conn, id);
    virDomainCreate(dom); /* leave the shared default domain running */
    virDomainFree(dom);
    virConnectClose(conn);
    return tap_done();
}
