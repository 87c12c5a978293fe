/* aslr-off.x64.exe: an ordinary little program linked /DYNAMICBASE:NO /FIXED, so it has no
 * base relocations and the loader always maps it at 0x140000000.  Everything else (NX, CFG,
 * CET, high image base, hot-patch padding) is as in the clean samples.
 * Expected: PE1001 (no DYNAMIC_BASE) and PE1004 (see samples/README.md).
 */
__declspec(dllimport) void __stdcall ExitProcess(unsigned code);
__declspec(dllimport) unsigned __stdcall GetTickCount(void);

static unsigned (*volatile pick)(unsigned);   /* an indirect call: CFG has work to do */

static unsigned low_bit(unsigned x) { return x & 1; }

void mainCRTStartup(void)
{
    pick = low_bit;
    ExitProcess(pick(GetTickCount()));
}
