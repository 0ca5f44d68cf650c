/* virTypedParamsAdd*: the arrays libvirt-python and libvirtmod_qemu build
 * parameters with, and virSaveLastError / virFreeError. The values and
 * messages are real libvirt 9.0's (this program passes against it too). */
#include "tap.h"
#include <string.h>
#include <stdlib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

int main(void)
{
    virTypedParameterPtr params = NULL;
    int n = 0, max = 0;
    if (virInitialize() < 0)
        return 1;

    ok_int(virTypedParamsAddInt(&params, &n, &max, "a", -7), 0, "AddInt");
    ok(n == 1 && max == 1, "the array grows by one", "n=%d max=%d", n, max);
    ok_int(virTypedParamsAddInt(&params, &n, &max, "a", 2), 0, "a name may repeat");
    char longname[100];
    memset(longname, 'x', 99);
    longname[99] = '\0';
    ok_int(virTypedParamsAddInt(&params, &n, &max, longname, 2), -1, "a name of 80 characters or more");
    ok_error_prefix("name too long", VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, "internal error: Field name 'xxx");
    ok_int(n, 2, "the failed call added nothing");
    ok_int(virTypedParamsAddUInt(&params, &n, &max, "u", 4000000000u), 0, "AddUInt");
    ok_int(virTypedParamsAddLLong(&params, &n, &max, "l", -5000000000LL), 0, "AddLLong");
    ok_int(virTypedParamsAddULLong(&params, &n, &max, "ul", 18000000000000000000ULL), 0, "AddULLong");
    ok_int(virTypedParamsAddDouble(&params, &n, &max, "d", 2.5), 0, "AddDouble");
    ok_int(virTypedParamsAddBoolean(&params, &n, &max, "b", 7), 0, "AddBoolean");
    ok_int(virTypedParamsAddString(&params, &n, &max, "s", "text"), 0, "AddString");
    ok_int(virTypedParamsAddString(&params, &n, &max, "null", NULL), 0, "AddString with NULL");
    const char *list[] = {"x", "y", NULL};
    ok_int(virTypedParamsAddStringList(&params, &n, &max, "list", list), 0, "AddStringList");
    ok_int(virTypedParamsAddStringList(&params, &n, &max, "none", NULL), 0, "AddStringList of NULL");

    /* Initialised: ok()'s message arguments may be evaluated before the
     * getter in its condition runs. */
    int i = 0;
    unsigned int ui = 0;
    long long l = 0;
    unsigned long long ul = 0;
    double d = 0;
    int b = 0;
    const char *s = NULL;
    ok(virTypedParamsGetInt(params, n, "a", &i) == 1 && i == -7, "the first 'a'", "%d", i);
    ok(virTypedParamsGetUInt(params, n, "u", &ui) == 1 && ui == 4000000000u, "u", "%u", ui);
    ok(virTypedParamsGetLLong(params, n, "l", &l) == 1 && l == -5000000000LL, "l", "%lld", l);
    ok(virTypedParamsGetULLong(params, n, "ul", &ul) == 1 && ul == 18000000000000000000ULL, "ul", "%llu", ul);
    ok(virTypedParamsGetDouble(params, n, "d", &d) == 1 && d == 2.5, "d", "%g", d);
    ok(virTypedParamsGetBoolean(params, n, "b", &b) == 1 && b == 1, "b is stored as 1", "%d", b);
    ok(virTypedParamsGetString(params, n, "s", &s) == 1 && !strcmp(s, "text"), "s", "%s", tap_s(s));
    ok(virTypedParamsGetString(params, n, "list", &s) == 1 && !strcmp(s, "x"), "the list's first", "%s", tap_s(s));
    ok_int(n, 11, "eleven parameters");
    ok_str(params[8].value.s, "", "a NULL string is stored empty");
    ok_str(params[10].field, "list", "one parameter per listed string");
    ok_str(params[10].value.s, "y", "the second string");

    struct { int type; const char *text; int rc; const char *message; } parsed[] = {
        {VIR_TYPED_PARAM_INT, " -12", 0, NULL},
        {VIR_TYPED_PARAM_INT, "3 ", -1, "invalid argument: Invalid value for field 'f': expected int"},
        {VIR_TYPED_PARAM_INT, "99999999999", -1, "invalid argument: Invalid value for field 'f': expected int"},
        {VIR_TYPED_PARAM_UINT, "-1", 0, NULL},
        {VIR_TYPED_PARAM_UINT, "", -1, "invalid argument: Invalid value for field 'f': expected unsigned int"},
        {VIR_TYPED_PARAM_LLONG, "zz", -1, "invalid argument: Invalid value for field 'f': expected long long"},
        {VIR_TYPED_PARAM_ULLONG, "0x10", -1,
         "invalid argument: Invalid value for field 'f': expected unsigned long long"},
        {VIR_TYPED_PARAM_DOUBLE, "0x10", 0, NULL},
        {VIR_TYPED_PARAM_DOUBLE, "1.5x", -1, "invalid argument: Invalid value for field 'f': expected double"},
        {VIR_TYPED_PARAM_BOOLEAN, "TRUE", 0, NULL},
        {VIR_TYPED_PARAM_BOOLEAN, "yes", -1, "invalid argument: Invalid boolean value for field 'f'"},
        {VIR_TYPED_PARAM_STRING, " any ", 0, NULL},
        {42, "1", -1, "internal error: unexpected type 42 for field f"},
    };
    for (size_t k = 0; k < sizeof(parsed) / sizeof(parsed[0]); k++) {
        int rc = virTypedParamsAddFromString(&params, &n, &max, "f", parsed[k].type, parsed[k].text);
        ok(rc == parsed[k].rc, "AddFromString's result", "type %d '%s': %d", parsed[k].type, parsed[k].text, rc);
        if (parsed[k].message)
            ok_str(virGetLastErrorMessage(), parsed[k].message, "AddFromString's message");
    }
    ok_int(params[n - 4].value.ui, 4294967295u, "-1 as an unsigned int wraps");
    ok(params[n - 3].value.d == 16.0, "strtod's hexadecimal", "%g", params[n - 3].value.d);
    ok_str(params[n - 1].value.s, " any ", "a string as it is");
    virTypedParamsFree(params, n);

    /* virSaveLastError: a heap copy of the last error, freed by virFreeError. */
    params = NULL;
    n = max = 0;
    virTypedParamsAddInt(&params, &n, &max, longname, 1);
    virErrorPtr saved = virSaveLastError();
    ok(saved != NULL && saved->code != 0 && saved->message != NULL, "virSaveLastError copies the error", "%p", (void *)saved);
    virResetLastError();
    ok(saved != NULL && saved->message != NULL, "the copy outlives the reset", "%p", (void *)saved);
    virFreeError(saved);
    saved = virSaveLastError();
    ok(saved != NULL && saved->code == VIR_ERR_OK, "with no error, a record of code 0", "%d", saved ? saved->code : -1);
    virFreeError(saved);
    virFreeError(NULL);
    virTypedParamsFree(params, n);
    return tap_failures != 0;
}
