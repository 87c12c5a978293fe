/* Load configuration for images built without the MSVC CRT (shared by every sample).
 *
 * The CRT normally supplies _load_config_used; without it /guard:cf has nowhere to put the
 * guard tables and the loader would not enforce CFG (PE1007).  lld-link defines the __guard_*
 * symbols and checks that the fields below refer to them, so the layout follows
 * IMAGE_LOAD_CONFIG_DIRECTORY64/32 up to GuardEHContinuationCount (Windows 10 RS5 layout:
 * Size 0x118 on x64, 0xAC on x86).  Written in assembly because C cannot express the 32-bit
 * GuardFlags field as a relocation against the absolute symbol __guard_flags.
 */
#ifdef __x86_64__
#  define PTR .quad
#  define SYM(x) x
#  define SIZE 0x118
#else
#  define PTR .long
#  define SYM(x) _##x
#  define SIZE 0xAC
#endif

#ifndef __x86_64__
/* Tell lld-link this object is SafeSEH-compatible (it installs no exception handlers). */
        .def @feat.00; .scl 3; .type 0; .endef
        .globl @feat.00
        .set @feat.00, 1
#endif

/* The loader overwrites the check/dispatch pointers when CFG is on; until then they point at
   do-nothing routines.  Hot-patch rules apply to these too: CC padding before, and a first
   instruction of at least two bytes. */
        .text
        .fill 8, 1, 0xcc
        .p2align 4, 0xcc
/* Typed as functions (.type 32) so that lld-link lists them in the guard CF function table:
   for objects without compiler guard data it takes every *function* symbol that a relocation
   refers to as address-taken.  Images built only from nasm objects would otherwise get an
   empty table (nasm cannot mark a symbol as a function). */
        .def SYM(guard_check_icall_nop); .scl 3; .type 32; .endef
SYM(guard_check_icall_nop):
#ifdef __x86_64__
        rep ret                         /* F3 C3 */
        .fill 8, 1, 0xcc
        .p2align 4, 0xcc
        .def guard_dispatch_icall_nop; .scl 3; .type 32; .endef
guard_dispatch_icall_nop:
        .byte 0x48                      /* REX.W: makes "jmp *%rax" 3 bytes (48 FF E0) */
        jmp *%rax
#else
        movl %edi, %edi                 /* 8B FF */
        ret
#endif
        .fill 8, 1, 0xcc

        .section .00cfg, "dr"
        .globl SYM(__guard_check_icall_fptr)
        .p2align 3
SYM(__guard_check_icall_fptr):
        PTR SYM(guard_check_icall_nop)
#ifdef __x86_64__
        .globl __guard_dispatch_icall_fptr
__guard_dispatch_icall_fptr:
        .quad guard_dispatch_icall_nop
#endif

        .section .rdata, "dr"
        .globl SYM(_load_config_used)
        .p2align 3
SYM(_load_config_used):
        .long SIZE                      /* Size */
        .long 0                         /* TimeDateStamp */
        .short 0, 0                     /* MajorVersion, MinorVersion */
        .long 0, 0, 0                   /* GlobalFlagsClear/Set, CriticalSectionDefaultTimeout */
        PTR 0, 0                        /* DeCommitFreeBlockThreshold, DeCommitTotalFreeThreshold */
        PTR 0                           /* LockPrefixTable */
        PTR 0, 0                        /* MaximumAllocationSize, VirtualMemoryThreshold */
#ifdef __x86_64__
        .quad 0                         /* ProcessAffinityMask */
        .long 0                         /* ProcessHeapFlags */
#else
        .long 0                         /* ProcessHeapFlags */
        .long 0                         /* ProcessAffinityMask */
#endif
        .short 0, 0                     /* CSDVersion, DependentLoadFlags */
        PTR 0                           /* EditList */
        PTR 0                           /* SecurityCookie (no /GS without the CRT) */
#ifdef __x86_64__
        .quad 0, 0                      /* SEHandlerTable, SEHandlerCount: x86 only */
#else
        .long ___safe_se_handler_table
        .long ___safe_se_handler_count
#endif
        PTR SYM(__guard_check_icall_fptr)
#ifdef __x86_64__
        .quad __guard_dispatch_icall_fptr
#else
        .long 0                         /* GuardCFDispatchFunctionPointer: x64 only */
#endif
        PTR SYM(__guard_fids_table)
        PTR SYM(__guard_fids_count)
        .long SYM(__guard_flags)
        .short 0, 0                     /* CodeIntegrity.Flags, .Catalog */
        .long 0, 0                      /* CodeIntegrity.CatalogOffset, .Reserved */
        PTR SYM(__guard_iat_table)
        PTR SYM(__guard_iat_count)
        PTR SYM(__guard_longjmp_table)
        PTR SYM(__guard_longjmp_count)
        PTR 0                           /* DynamicValueRelocTable */
        PTR 0                           /* CHPEMetadataPointer */
        PTR 0, 0                        /* GuardRFFailureRoutine, ...FunctionPointer */
        .long 0                         /* DynamicValueRelocTableOffset */
        .short 0, 0                     /* DynamicValueRelocTableSection, Reserved2 */
        PTR 0                           /* GuardRFVerifyStackPointerFunctionPointer */
        .long 0, 0                      /* HotPatchTableOffset, Reserved3 */
        PTR 0                           /* EnclaveConfigurationPointer */
        PTR 0                           /* VolatileMetadataPointer */
        PTR SYM(__guard_eh_cont_table)
        PTR SYM(__guard_eh_cont_count)
SYM(_load_config_end):
        .if SYM(_load_config_end) - SYM(_load_config_used) - SIZE
        .error "load config layout does not match its Size"
        .endif
