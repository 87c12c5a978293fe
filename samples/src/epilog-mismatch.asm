; epilog-mismatch.x64.exe: two epilogs of legal *form* that do not undo their prolog.
;  - pops_swapped: pushes rbx then rsi, but pops rbx first (the codes say rsi is on top);
;  - alloc_differs: allocates 0x28 (UWOP_ALLOC_SMALL 0x28) but releases 0x20.
; Neither is called: they are specimens, not working code.
; Expected: two PE3006 results, one per bad epilog.

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
global mainCRTStartup

section .text code align=16

FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    xor ecx, ecx
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

FUNC pops_swapped
    PUSH_REX rbx
.p1:
    push rsi
.p2:
    sub rsp, 0x28
.p3:
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    pop rbx                         ; <-- should be rsi: PE3006
    pop rsi
    ret
ENDFUNC pops_swapped

FUNC alloc_differs
    PUSH_REX rbx
.p1:
    sub rsp, 0x28
.p2:
    call [rel __imp_GetTickCount]
    add rsp, 0x20                   ; <-- prolog allocated 0x28: PE3006
    pop rbx
    ret
ENDFUNC alloc_differs
    times 8 db 0xCC

section .xdata rdata align=4

uw_main:
    UNWIND_INFO 1, 0, mainCRTStartup.p1 - mainCRTStartup, 1, 0, 0
    UWC mainCRTStartup.p1 - mainCRTStartup, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_pops_swapped:
    UNWIND_INFO 1, 0, pops_swapped.p3 - pops_swapped, 3, 0, 0
    UWC pops_swapped.p3 - pops_swapped, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC pops_swapped.p2 - pops_swapped, UWOP_PUSH_NONVOL, RSI
    UWC pops_swapped.p1 - pops_swapped, UWOP_PUSH_NONVOL, RBX
    dw 0

uw_alloc_differs:
    UNWIND_INFO 1, 0, alloc_differs.p2 - alloc_differs, 2, 0, 0
    UWC alloc_differs.p2 - alloc_differs, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC alloc_differs.p1 - alloc_differs, UWOP_PUSH_NONVOL, RBX

section .pdata rdata align=4
    PDATA mainCRTStartup, uw_main
    PDATA pops_swapped, uw_pops_swapped
    PDATA alloc_differs, uw_alloc_differs
