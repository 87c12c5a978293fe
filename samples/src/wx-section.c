/* wx-section.x64.exe: one function lives in its own section, .wxtext, which the link line
 * marks read-write-execute (/SECTION:.wxtext,RWE), the way self-modifying code or a packer
 * stub would be laid out.  The rest of the image is clean.
 * Expected: PE1009 (one result: the .wxtext section).
 */
__declspec(dllimport) void __stdcall ExitProcess(unsigned code);
__declspec(dllimport) unsigned __stdcall GetTickCount(void);

__attribute__((section(".wxtext"), noinline)) unsigned patched_at_runtime(unsigned x)
{
    return GetTickCount() + x;
}

void mainCRTStartup(void)
{
    ExitProcess(patched_at_runtime(1) & 1);
}
