; epilog-undocumented.x64.exe: three functions release their fixed allocation with a single
; instruction that is not one of the two documented forms (add rsp, imm / lea rsp, [FrameReg+d])
; and follow it only with pops and ret.  Before that instruction the frame is intact; after it
; the forward scan sees pops and ret, so unwinding is correct at every instruction: these are
; forms real compilers emit, not bugs.
; Expected: exactly one PE3009 note for the image (aggregated), no PE3005/PE3006.

%include "x64.inc"
default rel

extern __imp_ExitProcess
extern __imp_GetTickCount
global mainCRTStartup

section .text code align=16

FUNC mainCRTStartup
    sub rsp, 0x28
.p1:
    call lea_rsp
    call sub_minus_128
    call mov_rsp_r11
    xor ecx, ecx
    add rsp, 0x28
    jmp qword [rel __imp_ExitProcess]
ENDFUNC mainCRTStartup

; lea rsp, [rsp + 0x20] without a frame register (the documentation asks for add rsp).
FUNC lea_rsp
    PUSH_REX rbx
.p1:
    sub rsp, 0x20
.p2:
    call [rel __imp_GetTickCount]
    lea rsp, [rsp + 0x20]
    pop rbx
    ret
ENDFUNC lea_rsp

; LLVM's form for a 128-byte frame: sub rsp, -128 fits an imm8, add rsp, 128 would not.
FUNC sub_minus_128
    PUSH_REX rsi
.p1:
    sub rsp, 0x80
.p2:
    call [rel __imp_GetTickCount]
    sub rsp, -128
    pop rsi
    ret
ENDFUNC sub_minus_128

; MSVC's form: r11 = the frame's top, computed early; mov rsp, r11 releases the frame.
FUNC mov_rsp_r11
    PUSH_REX rbx
.p1:
    push rdi
.p2:
    sub rsp, 0x30
.p3:
    call [rel __imp_GetTickCount]
    lea r11, [rsp + 0x30]
    mov ecx, eax
    mov rsp, r11
    pop rdi
    pop rbx
    ret
ENDFUNC mov_rsp_r11
    times 8 db 0xCC

section .xdata rdata align=4

uw_main:
    UNWIND_INFO 1, 0, mainCRTStartup.p1 - mainCRTStartup, 1, 0, 0
    UWC mainCRTStartup.p1 - mainCRTStartup, UWOP_ALLOC_SMALL, (0x28 - 8) / 8
    dw 0

uw_lea_rsp:
    UNWIND_INFO 1, 0, lea_rsp.p2 - lea_rsp, 2, 0, 0
    UWC lea_rsp.p2 - lea_rsp, UWOP_ALLOC_SMALL, (0x20 - 8) / 8
    UWC lea_rsp.p1 - lea_rsp, UWOP_PUSH_NONVOL, RBX

uw_sub_minus_128:
    UNWIND_INFO 1, 0, sub_minus_128.p2 - sub_minus_128, 2, 0, 0
    UWC sub_minus_128.p2 - sub_minus_128, UWOP_ALLOC_SMALL, (0x80 - 8) / 8
    UWC sub_minus_128.p1 - sub_minus_128, UWOP_PUSH_NONVOL, RSI

uw_mov_rsp_r11:
    UNWIND_INFO 1, 0, mov_rsp_r11.p3 - mov_rsp_r11, 3, 0, 0
    UWC mov_rsp_r11.p3 - mov_rsp_r11, UWOP_ALLOC_SMALL, (0x30 - 8) / 8
    UWC mov_rsp_r11.p2 - mov_rsp_r11, UWOP_PUSH_NONVOL, RDI
    UWC mov_rsp_r11.p1 - mov_rsp_r11, UWOP_PUSH_NONVOL, RBX
    dw 0

section .pdata rdata align=4
    PDATA mainCRTStartup, uw_main
    PDATA lea_rsp, uw_lea_rsp
    PDATA sub_minus_128, uw_sub_minus_128
    PDATA mov_rsp_r11, uw_mov_rsp_r11
