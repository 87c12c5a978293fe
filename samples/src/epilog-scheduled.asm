; epilog-scheduled.x64.exe: one function loads its return value *between* `add rsp` and the
; pops.  A thread paused on that `mov` has already released the allocation, but the unwinder's
; forward scan from there sees `mov`, not an epilog, so it applies the prolog's
; UWOP_ALLOC_SMALL a second time and unwinds to a garbage return address.
; Expected: exactly one PE3005 (the `scheduled` function's only epilog).

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
global mainCRTStartup

section .text code align=16

FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    call scheduled
    mov ecx, eax
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

FUNC scheduled
    PUSH_REX rbx
.p1:
    push rsi
.p2:
    sub rsp, 0x28
.p3:
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    mov eax, 1                      ; <-- scheduled into the epilog: PE3005
    pop rsi
    pop rbx
    ret
ENDFUNC scheduled
    times 8 db 0xCC

section .xdata rdata align=4

uw_main:
    UNWIND_INFO 1, 0, mainCRTStartup.p1 - mainCRTStartup, 1, 0, 0
    UWC mainCRTStartup.p1 - mainCRTStartup, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_scheduled:
    UNWIND_INFO 1, 0, scheduled.p3 - scheduled, 3, 0, 0
    UWC scheduled.p3 - scheduled, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC scheduled.p2 - scheduled, UWOP_PUSH_NONVOL, RSI
    UWC scheduled.p1 - scheduled, UWOP_PUSH_NONVOL, RBX
    dw 0

section .pdata rdata align=4
    PDATA mainCRTStartup, uw_main
    PDATA scheduled, uw_scheduled
