; epilog-legal.x64.exe: one function per legal x64 epilog form, each with unwind codes that
; match its prolog exactly.  The analyzer must report nothing for this image.
;
; Prolog offsets in the unwind codes are label differences (.pN = end of the Nth prolog
; instruction), so they cannot drift from the code.

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
global mainCRTStartup

section .text code align=16

; add rsp + tail call through the IAT: jmp qword [rip+disp32] (FF 25, ModRM mod 00).
FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    call add_pops
    call frame_pointer
    call rep_ret
    call tail_rel32
    call tail_iat
    xor ecx, ecx
    call two_epilogs
    mov ecx, 1
    call two_epilogs
    xor ecx, ecx
    call v2_epilogs
    xor ecx, ecx                    ; ret_imm16 is not called: it would pop our home space
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

; add rsp, N; pop r12; pop rsi; pop rbx; ret
FUNC add_pops
    PUSH_REX rbx
.p1:
    push rsi
.p2:
    push r12
.p3:
    sub rsp, 0x20
.p4:
    call [rel __imp_GetTickCount]
    add rsp, 0x20
    pop r12
    pop rsi
    pop rbx
    ret
ENDFUNC add_pops

; Frame pointer: rbp = rsp + 0x20 after the allocation (UWOP_SET_FPREG, FrameOffset 2*16);
; the epilog releases the frame with lea rsp, [rbp + 0x10], then pops.
FUNC frame_pointer
    PUSH_REX rbp
.p1:
    push rbx
.p2:
    sub rsp, 0x30
.p3:
    lea rbp, [rsp + 0x20]
.p4:
    call [rel __imp_GetTickCount]
    mov [rbp - 0x8], eax
    lea rsp, [rbp + 0x10]
    pop rbx
    pop rbp
    ret
ENDFUNC frame_pointer

; ret imm16 (C2 10 00): callee pops 16 bytes of arguments.
FUNC ret_imm16
    PUSH_REX rbx
.p1:
    sub rsp, 0x20
.p2:
    call [rel __imp_GetTickCount]
    add rsp, 0x20
    pop rbx
    ret 16
ENDFUNC ret_imm16

; rep ret (F3 C3), the AMD branch-predictor idiom.
FUNC rep_ret
    sub rsp, 0x28
.p1:
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    rep ret
ENDFUNC rep_ret

; Tail call by jmp rel32 (E9) to a target outside the function.
FUNC tail_rel32
    PUSH_REX rsi
.p1:
    sub rsp, 0x20
.p2:
    call [rel __imp_GetTickCount]
    mov ecx, eax
    add rsp, 0x20
    pop rsi
    jmp strict near leaf
ENDFUNC tail_rel32

; Tail call through the IAT after pops: jmp qword [rip+disp32] (FF 25).
FUNC tail_iat
    PUSH_REX rdi
.p1:
    sub rsp, 0x20
.p2:
    call [rel __imp_GetTickCount]
    add rsp, 0x20
    pop rdi
    jmp qword [rel __imp_GetTickCount]
ENDFUNC tail_iat

; Two epilogs, both add rsp + pop rdi + pop rbx + ret.
FUNC two_epilogs
    PUSH_REX rbx
.p1:
    push rdi
.p2:
    sub rsp, 0x28
.p3:
    test ecx, ecx
    jz .other
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    pop rdi
    pop rbx
    ret
.other:
    mov eax, 7
    add rsp, 0x28
    pop rdi
    pop rbx
    ret
ENDFUNC two_epilogs

; Version 2 unwind info: UWOP_EPILOG codes describe both epilogs.  As in clang's
; /d2epilogunwind output, a v2 "epilog" starts at the first pop (the add rsp before it leaves
; the frame intact), so each one here is pop rdi; pop rsi; ret = 3 bytes.
FUNC v2_epilogs
    PUSH_REX rsi
.p1:
    push rdi
.p2:
    sub rsp, 0x28
.p3:
    test ecx, ecx
    jnz .other
    call [rel __imp_GetTickCount]
    add rsp, 0x28
.epi1:
    pop rdi
    pop rsi
    ret
.other:
    xor eax, eax
    add rsp, 0x28
.epi2:
    pop rdi
    pop rsi
    ret
ENDFUNC v2_epilogs

; A leaf: no stack use, so no .pdata entry (still padded and with a 3-byte first instruction).
FUNC leaf
    lea eax, [rcx + 1]
    ret
ENDFUNC leaf
    times 8 db 0xCC

section .xdata rdata align=4

uw_main:
    UNWIND_INFO 1, 0, mainCRTStartup.p1 - mainCRTStartup, 1, 0, 0
    UWC mainCRTStartup.p1 - mainCRTStartup, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0                                               ; pad to an even count

uw_add_pops:
    UNWIND_INFO 1, 0, add_pops.p4 - add_pops, 4, 0, 0
    UWC add_pops.p4 - add_pops, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC add_pops.p3 - add_pops, UWOP_PUSH_NONVOL, R12
    UWC add_pops.p2 - add_pops, UWOP_PUSH_NONVOL, RSI
    UWC add_pops.p1 - add_pops, UWOP_PUSH_NONVOL, RBX

uw_frame_pointer:
    UNWIND_INFO 1, 0, frame_pointer.p4 - frame_pointer, 4, RBP, 2
    UWC frame_pointer.p4 - frame_pointer, UWOP_SET_FPREG, 0
    UWC frame_pointer.p3 - frame_pointer, UWOP_ALLOC_SMALL, (0x30 - 8) / 8
    UWC frame_pointer.p2 - frame_pointer, UWOP_PUSH_NONVOL, RBX
    UWC frame_pointer.p1 - frame_pointer, UWOP_PUSH_NONVOL, RBP

uw_ret_imm16:
    UNWIND_INFO 1, 0, ret_imm16.p2 - ret_imm16, 2, 0, 0
    UWC ret_imm16.p2 - ret_imm16, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC ret_imm16.p1 - ret_imm16, UWOP_PUSH_NONVOL, RBX

uw_rep_ret:
    UNWIND_INFO 1, 0, rep_ret.p1 - rep_ret, 1, 0, 0
    UWC rep_ret.p1 - rep_ret, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_tail_rel32:
    UNWIND_INFO 1, 0, tail_rel32.p2 - tail_rel32, 2, 0, 0
    UWC tail_rel32.p2 - tail_rel32, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC tail_rel32.p1 - tail_rel32, UWOP_PUSH_NONVOL, RSI

uw_tail_iat:
    UNWIND_INFO 1, 0, tail_iat.p2 - tail_iat, 2, 0, 0
    UWC tail_iat.p2 - tail_iat, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC tail_iat.p1 - tail_iat, UWOP_PUSH_NONVOL, RDI

uw_two_epilogs:
    UNWIND_INFO 1, 0, two_epilogs.p3 - two_epilogs, 3, 0, 0
    UWC two_epilogs.p3 - two_epilogs, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC two_epilogs.p2 - two_epilogs, UWOP_PUSH_NONVOL, RDI
    UWC two_epilogs.p1 - two_epilogs, UWOP_PUSH_NONVOL, RBX
    dw 0

; Version 2.  The run of EPILOG codes comes first:
;   1st: CodeOffset = epilog size (3), OpInfo bit 0 = 1: an epilog ends the function
;        (this code also stands for that last epilog, at end - 3);
;   2nd: the other epilog, at (end - offset), offset = CodeOffset | OpInfo << 8.
; Then the prolog codes as in version 1.  5 codes, padded to 6.
uw_v2_epilogs:
    UNWIND_INFO 2, 0, v2_epilogs.p3 - v2_epilogs, 5, 0, 0
    UWC v2_epilogs_end - v2_epilogs.epi2, UWOP_EPILOG, 1
    UWC (v2_epilogs_end - v2_epilogs.epi1) & 0xFF, UWOP_EPILOG, (v2_epilogs_end - v2_epilogs.epi1) >> 8
    UWC v2_epilogs.p3 - v2_epilogs, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC v2_epilogs.p2 - v2_epilogs, UWOP_PUSH_NONVOL, RDI
    UWC v2_epilogs.p1 - v2_epilogs, UWOP_PUSH_NONVOL, RSI
    dw 0

section .pdata rdata align=4
    ; Sorted by BeginAddress (source order = address order).  leaf has no entry.
    PDATA mainCRTStartup, uw_main
    PDATA add_pops, uw_add_pops
    PDATA frame_pointer, uw_frame_pointer
    PDATA ret_imm16, uw_ret_imm16
    PDATA rep_ret, uw_rep_ret
    PDATA tail_rel32, uw_tail_rel32
    PDATA tail_iat, uw_tail_iat
    PDATA two_epilogs, uw_two_epilogs
    PDATA v2_epilogs, uw_v2_epilogs
