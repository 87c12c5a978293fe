/* hotpatch.{x64.exe,x86.dll} and nohotpatch.{x64.exe,x86.dll}: one source, two builds.
 *
 * The functions keep values in callee-saved registers across calls (x64) or use a frame
 * pointer (x86, -fno-omit-frame-pointer), so their natural first instruction is a 1-byte
 * push (push rsi = 56, push ebp = 55).  Built with -fms-hotpatch that first instruction is
 * made two bytes (x64: a 2-byte nop in front; x86: mov edi, edi = 8B FF) and the linker's
 * /FUNCTIONPADMIN puts int3 padding before every function.  Built without, the image fails
 * both hot-patch rules (PE2001, PE2002).
 */
#define API __declspec(dllexport)

__declspec(dllimport) void __stdcall ExitProcess(unsigned code);
__declspec(dllimport) unsigned __stdcall GetTickCount(void);

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

__declspec(noinline) unsigned API twice(unsigned a)
{
    unsigned r = mix(a, a + 1);
    return r + mix(r, a);
}

#ifdef _WIN64
void mainCRTStartup(void)
{
    ExitProcess(twice(GetTickCount()) & 1);
}
#else
int __stdcall DllMainCRTStartup(void *module, unsigned reason, void *reserved)
{
    (void)module; (void)reserved;
    if (reason == 1)
        sink = twice(reason);
    return 1;
}
#endif
