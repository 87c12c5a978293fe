; stackwalk-harmless.x64.exe: one exported function per shape of real compiler output that a
; stack walk unwinds correctly at every instruction, although the code around its exits is not
; the documented epilog form.  The stack-walk rules must report nothing for this image.
;
; Prolog offsets in the unwind codes are label differences (.pN = end of the Nth prolog
; instruction), so they cannot drift from the code.  Each function is exported (.drectve) so
; that results would name it.

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
extern __ImageBase
global mainCRTStartup
global fpreg_release_lea, fpreg_release_mov, leave_ret, go_add_pop_ret, early_ret_before_prolog
global jump_table_llvm, jump_table_msvc, handler_no_codes

section .text code align=16

FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    mov ecx, 4
    call fpreg_release_lea
    mov ecx, 4
    call fpreg_release_mov
    call leave_ret
    call go_add_pop_ret
    xor ecx, ecx
    call early_ret_before_prolog
    mov ecx, 2
    call jump_table_llvm
    mov ecx, 3
    call jump_table_msvc
    lea rcx, [rsp + 0x20]
    call handler_no_codes
    xor ecx, ecx
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

; Frame register still live while RSP moves (MSVC/LLVM alloca shape): rbp = rsp + 0x20 after
; the fixed allocation (SET_FPREG, FrameOffset 2).  The body allocates a variable-length array,
; then `lea rsp,[rbp-0x10]` moves RSP back into the fixed frame and other instructions follow,
; so no epilog starts there.  A walk from any body instruction recomputes RSP from rbp.
FUNC fpreg_release_lea
    PUSH_REX rbp                    ; entry-0x08
.p1:
    push rbx                        ; entry-0x10
.p2:
    push rsi                        ; entry-0x18
.p3:
    sub rsp, 0x28                   ; entry-0x40
.p4:
    lea rbp, [rsp + 0x20]           ; rbp = entry-0x20
.p5:
    lea rax, [rcx * 8 + 15]
    and rax, -16
    sub rsp, rax                    ; the variable-length array
    mov [rsp], rcx
    mov ebx, [rsp]
    lea rsp, [rbp - 0x10]           ; back into the fixed frame (entry-0x30): not an epilog
    mov eax, ebx
    add eax, esi
    lea rsp, [rbp + 8]              ; the documented release (entry-0x18), then pops
    pop rsi
    pop rbx
    pop rbp
    ret
ENDFUNC fpreg_release_lea

; GCC's release through the frame register: rbp = rsp after the fixed allocation (SET_FPREG,
; FrameOffset 0), alloca below it, then `mov rsp, rbp` and another instruction before the
; epilog's `add rsp`.
FUNC fpreg_release_mov
    PUSH_REX rbp                    ; entry-0x08
.p1:
    push rbx                        ; entry-0x10
.p2:
    sub rsp, 0x28                   ; entry-0x38
.p3:
    mov rbp, rsp                    ; rbp = entry-0x38
.p4:
    lea rax, [rcx * 8 + 15]
    and rax, -16
    sub rsp, rax                    ; the variable-length array
    mov [rsp], rcx
    mov ebx, [rsp]
    mov rsp, rbp                    ; GCC: frame released through the frame register
    mov eax, ebx                    ; not an epilog instruction
    add rsp, 0x28
    pop rbx
    pop rbp
    ret
ENDFUNC fpreg_release_mov

; leave; ret: `leave` is no epilog instruction to the unwinder's scan, but rbp holds the
; frame there, and at the ret RSP is the entry RSP.
FUNC leave_ret
    PUSH_REX rbp                    ; entry-0x08
.p1:
    mov rbp, rsp                    ; rbp = entry-0x08
.p2:
    sub rsp, 0x20
.p3:
    mov dword [rbp - 4], 7
    mov eax, [rbp - 4]
    leave
    ret
ENDFUNC leave_ret

; Go: the codes describe only push rbp; mov rbp,rsp.  The allocation below the frame register
; is not recorded, and add rsp,16; pop rbp; ret is an epilog the scan recognises.
FUNC go_add_pop_ret
    PUSH_REX rbp                    ; entry-0x08
.p1:
    mov rbp, rsp                    ; rbp = entry-0x08
.p2:
    sub rsp, 16                     ; not recorded (Go)
    mov qword [rsp], 0
    mov eax, [rsp]
    add rsp, 16
    pop rbp
    ret
ENDFUNC go_add_pop_ret

; Shrink-wrapping: the early exit returns before the prolog runs.  The ret lies inside
; SizeOfProlog but before every code's offset, and the scan sees it as an epilog: either way
; the walk returns through [entry rsp].
FUNC early_ret_before_prolog
    test ecx, ecx
    jne .work
    xor eax, eax
    ret
.work:
    push rbx
.p1:
    sub rsp, 0x20
.p2:
    mov ebx, ecx
    call [rel __imp_GetTickCount]
    add eax, ebx
    add rsp, 0x20
    pop rbx
    ret
ENDFUNC early_ret_before_prolog

; A switch as LLVM emits it (clang puts the table in .rdata for COFF; MSVC and GCC have put it in
; .text): entries are offsets from the table, which sits in .text between the indirect jump and
; the cases, inside the function's .pdata range.  Its bytes are data, never instructions.
FUNC jump_table_llvm
    sub rsp, 0x28
.p1:
    cmp ecx, 3
    ja .default
    mov ecx, ecx
    lea rax, [rel .table]
    movsxd rcx, dword [rax + rcx * 4]
    add rcx, rax
    jmp rcx
    align 4, db 0xCC
.table:
    dd .case0 - .table
    dd .case1 - .table
    dd .case2 - .table
    dd .case3 - .table
.case0:
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    ret
.case1:
    mov eax, 11
    add rsp, 0x28
    ret
.case2:
    call [rel __imp_GetTickCount]
    add eax, 2
    add rsp, 0x28
    ret
.case3:
    mov eax, 33
    add rsp, 0x28
    ret
.default:
    xor eax, eax
    add rsp, 0x28
    ret
ENDFUNC jump_table_llvm

; The same switch as MSVC emits it (clrjit.dll has this shape, e.g. at RVA 0x8CFE): the index
; widened into another register (movsxd rax, ecx) after the bounds check, image-relative entries
; read through __ImageBase, the table in .text after the jump.
FUNC jump_table_msvc
    sub rsp, 0x28
.p1:
    cmp ecx, 3
    ja .default
    movsxd rax, ecx
    lea rdx, [rel __ImageBase]
    mov ecx, [rdx + rax * 4 + .table wrt ..imagebase]
    add rcx, rdx
    jmp rcx
    align 4, db 0xCC
.table:
    dd .case0 wrt ..imagebase
    dd .case1 wrt ..imagebase
    dd .case2 wrt ..imagebase
    dd .case3 wrt ..imagebase
.case0:
    call [rel __imp_GetTickCount]
    add rsp, 0x28
    ret
.case1:
    mov eax, 11
    add rsp, 0x28
    ret
.case2:
    call [rel __imp_GetTickCount]
    add eax, 2
    add rsp, 0x28
    ret
.case3:
    mov eax, 33
    add rsp, 0x28
    ret
.default:
    xor eax, eax
    add rsp, 0x28
    ret
ENDFUNC jump_table_msvc

; A leaf as OpenSSL's perlasm writes it: no unwind codes and a language handler of its own.
; It keeps the entry RSP in rax and restores RSP from it (lea rsp,[rax]) before vzeroupper and
; ret; RSP never moves, so at every instruction [rsp] is the return address, which is what
; empty codes say.  It uses only volatile registers.
FUNC handler_no_codes
    mov rax, rsp
    vpxor ymm0, ymm0, ymm0
    vmovdqu [rcx], ymm0
    lea rsp, [rax]
    vzeroupper
    ret
ENDFUNC handler_no_codes

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

uw_fpreg_release_lea:
    UNWIND_INFO 1, 0, fpreg_release_lea.p5 - fpreg_release_lea, 5, RBP, 2
    UWC fpreg_release_lea.p5 - fpreg_release_lea, UWOP_SET_FPREG, 0
    UWC fpreg_release_lea.p4 - fpreg_release_lea, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC fpreg_release_lea.p3 - fpreg_release_lea, UWOP_PUSH_NONVOL, RSI
    UWC fpreg_release_lea.p2 - fpreg_release_lea, UWOP_PUSH_NONVOL, RBX
    UWC fpreg_release_lea.p1 - fpreg_release_lea, UWOP_PUSH_NONVOL, RBP
    dw 0

uw_fpreg_release_mov:
    UNWIND_INFO 1, 0, fpreg_release_mov.p4 - fpreg_release_mov, 4, RBP, 0
    UWC fpreg_release_mov.p4 - fpreg_release_mov, UWOP_SET_FPREG, 0
    UWC fpreg_release_mov.p3 - fpreg_release_mov, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    UWC fpreg_release_mov.p2 - fpreg_release_mov, UWOP_PUSH_NONVOL, RBX
    UWC fpreg_release_mov.p1 - fpreg_release_mov, UWOP_PUSH_NONVOL, RBP

uw_leave_ret:
    UNWIND_INFO 1, 0, leave_ret.p3 - leave_ret, 3, RBP, 0
    UWC leave_ret.p3 - leave_ret, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC leave_ret.p2 - leave_ret, UWOP_SET_FPREG, 0
    UWC leave_ret.p1 - leave_ret, UWOP_PUSH_NONVOL, RBP
    dw 0

uw_go_add_pop_ret:
    UNWIND_INFO 1, 0, go_add_pop_ret.p2 - go_add_pop_ret, 2, RBP, 0
    UWC go_add_pop_ret.p2 - go_add_pop_ret, UWOP_SET_FPREG, 0
    UWC go_add_pop_ret.p1 - go_add_pop_ret, UWOP_PUSH_NONVOL, RBP

uw_early_ret:
    UNWIND_INFO 1, 0, early_ret_before_prolog.p2 - early_ret_before_prolog, 2, 0, 0
    UWC early_ret_before_prolog.p2 - early_ret_before_prolog, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC early_ret_before_prolog.p1 - early_ret_before_prolog, UWOP_PUSH_NONVOL, RBX

uw_jump_table_llvm:
    UNWIND_INFO 1, 0, jump_table_llvm.p1 - jump_table_llvm, 1, 0, 0
    UWC jump_table_llvm.p1 - jump_table_llvm, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_jump_table_msvc:
    UNWIND_INFO 1, 0, jump_table_msvc.p1 - jump_table_msvc, 1, 0, 0
    UWC jump_table_msvc.p1 - jump_table_msvc, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

; No codes; UNW_FLAG_EHANDLER with the image's own handler and two words of handler data
; (perlasm passes the body's and the epilog's labels there).
uw_handler_no_codes:
    UNWIND_INFO 1, UNW_FLAG_EHANDLER, 0, 0, 0, 0
    dd own_handler wrt ..imagebase
    dd handler_no_codes wrt ..imagebase, handler_no_codes_end wrt ..imagebase

section .pdata rdata align=4
    PDATA mainCRTStartup, uw_main
    PDATA fpreg_release_lea, uw_fpreg_release_lea
    PDATA fpreg_release_mov, uw_fpreg_release_mov
    PDATA leave_ret, uw_leave_ret
    PDATA go_add_pop_ret, uw_go_add_pop_ret
    PDATA early_ret_before_prolog, uw_early_ret
    PDATA jump_table_llvm, uw_jump_table_llvm
    PDATA jump_table_msvc, uw_jump_table_msvc
    PDATA handler_no_codes, uw_handler_no_codes

section .drectve info
    db "-export:fpreg_release_lea -export:fpreg_release_mov -export:leave_ret "
    db "-export:go_add_pop_ret -export:early_ret_before_prolog -export:jump_table_llvm -export:jump_table_msvc "
    db "-export:handler_no_codes "
