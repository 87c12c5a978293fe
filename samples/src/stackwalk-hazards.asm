; stackwalk-hazards.x64.exe: one exported function per class of real stack-walk hazard, each at
; exactly one instruction (or, for the handler-only function, one result for the function).
; The expected rule, function and instruction of each are in bin/stackwalk-hazards.x64.exe.expected.
; None of these functions is called: they exist only to be analysed.
;
; Prolog offsets in the unwind codes are label differences (.pN = end of the Nth prolog
; instruction), so they cannot drift from the code; .hazard marks the instruction a stack walk
; gets wrong.

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
global mainCRTStartup
global vzeroupper_after_release, go_pop_rbp_nop_ret, undescribed_push, handler_moves_rsp
global restore_from_released_slot

section .text code align=16

FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    xor ecx, ecx
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

; LLVM (Rust, Skia): vzeroupper scheduled after the frame is released.  At the vzeroupper RSP
; is the entry RSP, the scan sees no epilog, and the codes add 0x28 again: the walk returns
; through [entry rsp+0x28].
FUNC vzeroupper_after_release
    sub rsp, 0x28
.p1:
    call [rel __imp_GetTickCount]
    vmovd xmm0, eax
    vpbroadcastd ymm0, xmm0
    vmovdqu [rcx], ymm0
    add rsp, 0x28
.hazard:
    vzeroupper
    ret
ENDFUNC vzeroupper_after_release

; Go: pop rbp; nop; ret.  At the nop rbp holds the caller's rbp again, and the unwinder, in
; the body, recomputes RSP from rbp (SET_FPREG): the walk returns through [caller's rbp+8].
FUNC go_pop_rbp_nop_ret
    PUSH_REX rbp                    ; entry-0x08
.p1:
    mov rbp, rsp                    ; rbp = entry-0x08
.p2:
    sub rsp, 16                     ; not recorded (Go)
    mov qword [rsp], 0
    mov eax, [rsp]
    add rsp, 16
    pop rbp
.hazard:
    nop
    ret
ENDFUNC go_pop_rbp_nop_ret

; A push no code records: MSVC's __readeflags() intrinsic is pushfq; pop rax, in the body of a
; function without a frame register.  At the pop RSP is 8 bytes below the frame the codes
; describe: the walk returns through the slot of the saved rbx.
FUNC undescribed_push
    PUSH_REX rbx                    ; entry-0x08
.p1:
    sub rsp, 0x20                   ; entry-0x28
.p2:
    mov ebx, ecx
    pushfq                          ; entry-0x30, no code
.hazard:
    pop rax
    and eax, ebx
    add rsp, 0x20
    pop rbx
    ret
ENDFUNC undescribed_push

; OpenSSL perlasm style: no unwind codes and a language handler of the image's own (which
; would repair the context during exception dispatch), but the function pushes and allocates.
; Every other stack walk applies the empty codes: from the instruction after the first push
; until the epilog the walk returns through the wrong slot.
FUNC handler_moves_rsp
    PUSH_REX rbx                    ; entry-0x08
.hazard:
    push rsi                        ; entry-0x10
    sub rsp, 0x28                   ; entry-0x38
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    pop rsi
    pop rbx
    ret
ENDFUNC handler_moves_rsp

; A register restored from a slot already released: lea rsp,[rbp+8] frees rbx's save slot
; (entry-0x10) before rbx is reloaded from it.  At that mov the walk reads rbx from below RSP,
; memory an exception dispatch or a profiler's sample may already have overwritten.
FUNC restore_from_released_slot
    PUSH_REX rbp                    ; entry-0x08
.p1:
    push rbx                        ; entry-0x10
.p2:
    mov rbp, rsp                    ; rbp = entry-0x10
.p3:
    sub rsp, 0x20
.p4:
    call [rel __imp_GetTickCount]
    mov ebx, eax
    lea rsp, [rbp + 8]              ; entry-0x08: rbx's slot is below RSP now
.hazard:
    mov rbx, [rsp - 8]
    pop rbp
    ret
ENDFUNC restore_from_released_slot

; The language handler: ExceptionContinueSearch.  A leaf without a .pdata entry.
FUNC own_handler
    mov eax, 1
    ret
ENDFUNC own_handler
    times 8 db 0xCC

section .xdata rdata align=4

uw_main:
    UNWIND_INFO 1, 0, mainCRTStartup.p1 - mainCRTStartup, 1, 0, 0
    UWC mainCRTStartup.p1 - mainCRTStartup, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_vzeroupper:
    UNWIND_INFO 1, 0, vzeroupper_after_release.p1 - vzeroupper_after_release, 1, 0, 0
    UWC vzeroupper_after_release.p1 - vzeroupper_after_release, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_go:
    UNWIND_INFO 1, 0, go_pop_rbp_nop_ret.p2 - go_pop_rbp_nop_ret, 2, RBP, 0
    UWC go_pop_rbp_nop_ret.p2 - go_pop_rbp_nop_ret, UWOP_SET_FPREG, 0
    UWC go_pop_rbp_nop_ret.p1 - go_pop_rbp_nop_ret, UWOP_PUSH_NONVOL, RBP

uw_undescribed_push:
    UNWIND_INFO 1, 0, undescribed_push.p2 - undescribed_push, 2, 0, 0
    UWC undescribed_push.p2 - undescribed_push, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC undescribed_push.p1 - undescribed_push, UWOP_PUSH_NONVOL, RBX

; No codes; UNW_FLAG_EHANDLER with the image's own handler and two words of handler data.
uw_handler_moves_rsp:
    UNWIND_INFO 1, UNW_FLAG_EHANDLER, 0, 0, 0, 0
    dd own_handler wrt ..imagebase
    dd handler_moves_rsp wrt ..imagebase, handler_moves_rsp_end wrt ..imagebase

uw_released_slot:
    UNWIND_INFO 1, 0, restore_from_released_slot.p4 - restore_from_released_slot, 4, RBP, 0
    UWC restore_from_released_slot.p4 - restore_from_released_slot, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC restore_from_released_slot.p3 - restore_from_released_slot, UWOP_SET_FPREG, 0
    UWC restore_from_released_slot.p2 - restore_from_released_slot, UWOP_PUSH_NONVOL, RBX
    UWC restore_from_released_slot.p1 - restore_from_released_slot, UWOP_PUSH_NONVOL, RBP

section .pdata rdata align=4
    PDATA mainCRTStartup, uw_main
    PDATA vzeroupper_after_release, uw_vzeroupper
    PDATA go_pop_rbp_nop_ret, uw_go
    PDATA undescribed_push, uw_undescribed_push
    PDATA handler_moves_rsp, uw_handler_moves_rsp
    PDATA restore_from_released_slot, uw_released_slot

section .drectve info
    db "-export:vzeroupper_after_release -export:go_pop_rbp_nop_ret -export:undescribed_push "
    db "-export:handler_moves_rsp -export:restore_from_released_slot "
