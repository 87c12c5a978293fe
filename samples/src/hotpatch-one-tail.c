/* The tail of hotpatch-one.x64.exe, compiled without -ffunction-sections (see hotpatch-one.c). */
__declspec(dllimport) unsigned __stdcall GetTickCount(void);

static volatile unsigned sink;

__declspec(noinline) unsigned first_in_chunk(unsigned n)
{
    unsigned t = GetTickCount();
    sink = t;
    return t + n + GetTickCount();
}

__declspec(noinline) unsigned unpadded_helper(unsigned n)
{
    unsigned t = first_in_chunk(n);
    sink = t;
    return t ^ first_in_chunk(t + 1);
}
