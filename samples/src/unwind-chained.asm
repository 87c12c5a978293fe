; unwind-chained.x64.exe: two ways for a function fragment to borrow its parent's unwind data.
;  1. hot/hot_cold: a hot/cold split.  The cold fragment's UNWIND_INFO has UNW_FLAG_CHAININFO,
;     no codes of its own, and a copy of hot's RUNTIME_FUNCTION: unwinding from the fragment
;     applies hot's prolog codes.  The fragment ends with its own epilog, which must match
;     hot's prolog (it does).
;  2. split/split_tail: split_tail's .pdata entry has UnwindData = RVA of split's .pdata entry
;     OR 1 (RUNTIME_FUNCTION_INDIRECT): the lookup returns split's entry instead.
; .pdata stays sorted by BeginAddress.  Neither fragment is an entry point for hot-patching,
; but both are padded anyway.  Expected: no results.

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
global mainCRTStartup

section .text code align=16

FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    mov ecx, 1
    call hot
    xor ecx, ecx
    call split
    xor ecx, ecx
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

FUNC hot
    PUSH_REX rbx
.p1:
    push rsi
.p2:
    sub rsp, 0x28
.p3:
    test ecx, ecx
    jnz hot_cold                    ; rarely taken: the code lives out of line
    xor eax, eax
    add rsp, 0x28
    pop rsi
    pop rbx
    ret
ENDFUNC hot

FUNC split
    PUSH_REX rdi
.p1:
    sub rsp, 0x20
.p2:
    test ecx, ecx
    jz split_tail
    mov eax, 2
    add rsp, 0x20
    pop rdi
    ret
ENDFUNC split

; Cold fragment of hot: runs inside hot's frame.
FUNC hot_cold
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    pop rsi
    pop rbx
    ret
ENDFUNC hot_cold

; Out-of-line tail of split: runs inside split's frame.
FUNC split_tail
    call [rel __imp_GetTickCount]
    add eax, 1
    add rsp, 0x20
    pop rdi
    ret
ENDFUNC split_tail
    times 8 db 0xCC

section .xdata rdata align=4

uw_main:
    UNWIND_INFO 1, 0, mainCRTStartup.p1 - mainCRTStartup, 1, 0, 0
    UWC mainCRTStartup.p1 - mainCRTStartup, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_hot:
    UNWIND_INFO 1, 0, hot.p3 - hot, 3, 0, 0
    UWC hot.p3 - hot, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC hot.p2 - hot, UWOP_PUSH_NONVOL, RSI
    UWC hot.p1 - hot, UWOP_PUSH_NONVOL, RBX
    dw 0

uw_split:
    UNWIND_INFO 1, 0, split.p2 - split, 2, 0, 0
    UWC split.p2 - split, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC split.p1 - split, UWOP_PUSH_NONVOL, RDI

; Chained: no prolog, no codes, then the parent's RUNTIME_FUNCTION.
uw_hot_cold:
    UNWIND_INFO 1, UNW_FLAG_CHAININFO, 0, 0, 0, 0
    PDATA hot, uw_hot

section .pdata rdata align=4
    PDATA mainCRTStartup, uw_main
pd_hot:
    PDATA hot, uw_hot
pd_split:
    PDATA split, uw_split
    PDATA hot_cold, uw_hot_cold
    ; RUNTIME_FUNCTION_INDIRECT: UnwindData = RVA of pd_split | 1
    dd split_tail wrt ..imagebase, split_tail_end wrt ..imagebase, (pd_split + 1) wrt ..imagebase
