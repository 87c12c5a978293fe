/* Load configuration for images built without the MSVC CRT.
 *
 * The CRT normally supplies _load_config_used; without it /guard:cf has nowhere to put the
 * guard tables and the loader would not enforce CFG (PE1007).  lld-link defines the __guard_*
 * symbols and checks that the fields below refer to them, so the layout must match
 * IMAGE_LOAD_CONFIG_DIRECTORY64/32 exactly (here: up to GuardEHContinuationCount, the
 * Windows 10 RS5 layout, Size 0x118 on x64 and 0xB8 on x86).
 */
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
#ifdef _WIN64
typedef u64 uptr;
#else
typedef u32 uptr;
#endif

/* Linker-defined (lld-link and link.exe). */
extern const void *__guard_fids_table[];
extern const char __guard_fids_count[];
extern const char __guard_flags[];
extern const void *__guard_iat_table[];
extern const char __guard_iat_count[];
extern const void *__guard_longjmp_table[];
extern const char __guard_longjmp_count[];
extern const void *__guard_eh_cont_table[];
extern const char __guard_eh_cont_count[];
#ifndef _WIN64
extern const void *__safe_se_handler_table[];
extern const char __safe_se_handler_count[];
#endif

/* The loader replaces these pointers when CFG is on; until then an indirect call just
   checks nothing.  The CRT keeps them in the read-only .00cfg section. */
static void __cdecl guard_check_icall_nop(uptr target) { (void)target; }
#ifdef _WIN64
static void __cdecl guard_dispatch_icall_nop(void);
__asm__(".text\n"
        ".p2align 4, 0xcc\n"
        ".def guard_dispatch_icall_nop; .scl 3; .type 32; .endef\n"
        "guard_dispatch_icall_nop:\n"
        "    rex.W jmp *%rax\n"); /* 48 FF E0: a 3-byte first instruction */
#endif
#pragma section(".00cfg", read)
__declspec(allocate(".00cfg")) void (*const __guard_check_icall_fptr)(uptr) = guard_check_icall_nop;
#ifdef _WIN64
__declspec(allocate(".00cfg")) void (*const __guard_dispatch_icall_fptr)(void) = guard_dispatch_icall_nop;
#endif

typedef struct {
    u32 Size;
    u32 TimeDateStamp;
    u16 MajorVersion, MinorVersion;
    u32 GlobalFlagsClear, GlobalFlagsSet;
    u32 CriticalSectionDefaultTimeout;
    uptr DeCommitFreeBlockThreshold, DeCommitTotalFreeThreshold;
    uptr LockPrefixTable;
    uptr MaximumAllocationSize, VirtualMemoryThreshold;
#ifdef _WIN64
    uptr ProcessAffinityMask;
    u32 ProcessHeapFlags;
#else
    u32 ProcessHeapFlags;
    uptr ProcessAffinityMask;
#endif
    u16 CSDVersion, DependentLoadFlags;
    uptr EditList;
    uptr SecurityCookie;
    uptr SEHandlerTable, SEHandlerCount;
    uptr GuardCFCheckFunctionPointer, GuardCFDispatchFunctionPointer;
    uptr GuardCFFunctionTable, GuardCFFunctionCount;
    u32 GuardFlags;
    u16 CodeIntegrityFlags, CodeIntegrityCatalog;
    u32 CodeIntegrityCatalogOffset, CodeIntegrityReserved;
    uptr GuardAddressTakenIatEntryTable, GuardAddressTakenIatEntryCount;
    uptr GuardLongJumpTargetTable, GuardLongJumpTargetCount;
    uptr DynamicValueRelocTable;
    uptr CHPEMetadataPointer;
    uptr GuardRFFailureRoutine, GuardRFFailureRoutineFunctionPointer;
    u32 DynamicValueRelocTableOffset;
    u16 DynamicValueRelocTableSection, Reserved2;
    uptr GuardRFVerifyStackPointerFunctionPointer;
    u32 HotPatchTableOffset, Reserved3;
    uptr EnclaveConfigurationPointer;
    uptr VolatileMetadataPointer;
    uptr GuardEHContinuationTable, GuardEHContinuationCount;
} load_config;

#ifdef _WIN64
_Static_assert(sizeof(load_config) == 0x118, "IMAGE_LOAD_CONFIG_DIRECTORY64 (RS5) is 0x118 bytes");
#else
_Static_assert(sizeof(load_config) == 0xB8, "IMAGE_LOAD_CONFIG_DIRECTORY32 (RS5) is 0xB8 bytes");
#endif

const load_config _load_config_used = {
    .Size = sizeof(load_config),
#ifndef _WIN64
    .SEHandlerTable = (uptr)__safe_se_handler_table,
    .SEHandlerCount = (uptr)__safe_se_handler_count,
#endif
    .GuardCFCheckFunctionPointer = (uptr)&__guard_check_icall_fptr,
#ifdef _WIN64
    .GuardCFDispatchFunctionPointer = (uptr)&__guard_dispatch_icall_fptr,
#endif
    .GuardCFFunctionTable = (uptr)__guard_fids_table,
    .GuardCFFunctionCount = (uptr)__guard_fids_count,
    .GuardFlags = (u32)(uptr)__guard_flags,
    .GuardAddressTakenIatEntryTable = (uptr)__guard_iat_table,
    .GuardAddressTakenIatEntryCount = (uptr)__guard_iat_count,
    .GuardLongJumpTargetTable = (uptr)__guard_longjmp_table,
    .GuardLongJumpTargetCount = (uptr)__guard_longjmp_count,
    .GuardEHContinuationTable = (uptr)__guard_eh_cont_table,
    .GuardEHContinuationCount = (uptr)__guard_eh_cont_count,
};
