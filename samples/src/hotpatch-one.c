/* hotpatch-one.x64.exe (with hotpatch-one-tail.c): built hot-patchable, with one function missed.
 *
 * Everything is compiled with -fms-hotpatch (2-byte first instructions) and linked with
 * /FUNCTIONPADMIN:6.  This file is compiled with -ffunction-sections, so lld pads before each
 * of its functions.  hotpatch-one-tail.c is compiled without it: its two functions share one
 * .text section, lld pads only before that section, and the second function, unpadded_helper,
 * follows the first after the compiler's alignment (a 6-byte nopw, 66 0F 1F 44 00 00), which
 * is code-shaped filler, not int3/nop padding.  So the image shows hot-patch intent and exactly
 * one function that cannot be patched: PE2002 on unpadded_helper.  Neither tail function is
 * exported: their names come from the PDB linked beside the image (hotpatch-one.x64.pdb).
 */
#define API __declspec(dllexport)

__declspec(dllimport) void __stdcall ExitProcess(unsigned code);
__declspec(dllimport) unsigned __stdcall GetTickCount(void);

unsigned first_in_chunk(unsigned n);
unsigned unpadded_helper(unsigned n);

static volatile unsigned sink;

__declspec(noinline) unsigned API ticks_plus(unsigned n)
{
    unsigned t = GetTickCount();
    sink = t;
    return t + n + GetTickCount();
}

__declspec(noinline) unsigned API mix(unsigned a, unsigned b)
{
    unsigned x = ticks_plus(a);
    unsigned y = ticks_plus(b);
    return (x ^ y) + a * b + ticks_plus(x);
}

__declspec(noinline) unsigned spread(unsigned a)
{
    unsigned r = mix(a, a + 1);
    return r + mix(r, a) + first_in_chunk(r);
}

void mainCRTStartup(void)
{
    unsigned t = GetTickCount();
    ExitProcess((spread(t) ^ unpadded_helper(t)) & 1);
}
