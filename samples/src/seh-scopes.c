/* seh-scopes.x64.exe: C structured exception handling compiled by clang for the MSVC ABI.
 * Each function's UNWIND_INFO names __C_specific_handler (imported from ntdll.dll) and carries a
 * SCOPE_TABLE: a filter function RVA or 1 (EXCEPTION_EXECUTE_HANDLER) with the __except body as
 * JumpTarget, or a termination handler with JumpTarget 0 for __finally.  `nested` lists its
 * inner scope before the outer one.  Expected: no results.
 */
#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define GetExceptionCode() _exception_code()
#define APP_ERROR 0xE0000001u
#define APP_ERROR2 0xE0000002u

__declspec(dllimport) void __stdcall ExitProcess(unsigned code);
__declspec(dllimport) unsigned __stdcall GetTickCount(void);
__declspec(dllimport) void __stdcall RaiseException(unsigned code, unsigned flags, unsigned nargs,
                                                    const void *args);
unsigned long _exception_code(void);

static volatile unsigned sink;

static int is_app_error(unsigned long code)
{
    return code == APP_ERROR ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH;
}

/* __except with a filter expression: HandlerAddress = the outlined filter. */
__declspec(noinline) int with_filter(void)
{
    __try {
        RaiseException(APP_ERROR, 0, 0, 0);
        sink = 1;
    } __except (is_app_error(GetExceptionCode())) {
        return 1;
    }
    return 0;
}

/* __except (EXCEPTION_EXECUTE_HANDLER): HandlerAddress = 1. */
__declspec(noinline) int execute_handler(void)
{
    __try {
        RaiseException(APP_ERROR2, 0, 0, 0);
        sink = 2;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        return 2;
    }
    return 0;
}

/* __finally: HandlerAddress = the termination handler, JumpTarget = 0. */
__declspec(noinline) int with_finally(void)
{
    unsigned t = 0;
    __try {
        t = GetTickCount();
        if (t == 12345)
            RaiseException(APP_ERROR2, 0, 0, 0);
    } __finally {
        sink = t;
    }
    return (int)(t & 1);
}

/* A __try inside a __try: the inner scope comes first in the table. */
__declspec(noinline) int nested(void)
{
    __try {
        __try {
            RaiseException(APP_ERROR, 0, 0, 0);
        } __except (is_app_error(GetExceptionCode())) {
            sink = 3;
            RaiseException(APP_ERROR2, 0, 0, 0);
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        return 3;
    }
    return 0;
}

void mainCRTStartup(void)
{
    ExitProcess((unsigned)(with_filter() + execute_handler() + with_finally() + nested()));
}
