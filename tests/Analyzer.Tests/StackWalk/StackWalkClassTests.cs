using Pelint.Analysis;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Tests.StackWalk;

/// <summary>
/// The classes of real compiler output the verifier must get right, each in a hand-assembled
/// function with hand-written unwind codes. Expected verdicts are derived by hand from what
/// Windows' unwinder does at each instruction (comments show the derivation).
/// </summary>
public sealed class StackWalkClassTests
{
    // Unwind ops.
    private const int Push = 0;
    private const int AllocLarge = 1;
    private const int AllocSmall = 2;
    private const int SetFpreg = 3;

    private const int Rbx = 3;
    private const int Rbp = 5;
    private const int Rsi = 6;

    [Fact]
    public void Vzeroupper_after_the_frame_is_released_is_a_hazard_at_that_one_instruction()
    {
        // 0 push rbx; 1 sub rsp,0x20; 5 xor eax,eax; 7 add rsp,0x20; 11 vzeroupper; 14 pop rbx; 15 ret
        // At vzeroupper rsp = entry-8, the scan sees no epilog, the codes add 0x20 and pop rbx:
        // the walk returns through [entry rsp+0x20].
        var (verdict, image) = Verify(
            [0x53, 0x48, 0x83, 0xEC, 0x20, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x20, 0xC5, 0xF8, 0x77, 0x5B, 0xC3],
            FunctionImage.Info(1, 0, 5, 0, 0, FunctionImage.Code(5, AllocSmall, 3), FunctionImage.Code(1, Push, Rbx)));

        var hazard = Assert.Single(verdict.Hazards);
        Assert.Equal(FunctionImage.Begin(0) + 11, hazard.Rva);
        Assert.Equal(HazardKind.WrongCaller, hazard.Kind);
        Assert.Equal(Sym.Stack(0x20), hazard.ReturnAddressFrom);
        Assert.Equal(Sym.Stack(-8), hazard.TrueRsp);
        Assert.Equal(UnwindPath.Codes, hazard.Path);
        Assert.Equal(16, verdict.InstructionsChecked + verdict.InstructionsUnjudged + 9); // 7 instructions judged
        _ = image;
    }

    [Fact]
    public void Go_pop_rbp_nop_ret_is_a_hazard_at_the_nop_only()
    {
        // 0 push rbp; 1 mov rbp,rsp; 4 sub rsp,16; 8 add rsp,16; 12 pop rbp; 13 nop; 14 ret
        // Codes: SET_FPREG rbp at 4, PUSH_NONVOL rbp at 1. At the nop rbp holds the caller's rbp
        // again, so RSP recomputed from it is the caller's rbp.
        var (verdict, _) = Verify(
            [0x55, 0x48, 0x89, 0xE5, 0x48, 0x83, 0xEC, 0x10, 0x48, 0x83, 0xC4, 0x10, 0x5D, 0x90, 0xC3],
            FunctionImage.Info(1, 0, 4, Rbp, 0, FunctionImage.Code(4, SetFpreg, 0), FunctionImage.Code(1, Push, Rbp)));

        var hazard = Assert.Single(verdict.Hazards);
        Assert.Equal(FunctionImage.Begin(0) + 13, hazard.Rva);
        Assert.Equal(new Sym(SymKind.Entry, Rbp, 0x10), hazard.CallerRsp);
    }

    [Fact]
    public void Go_add_rsp_pop_rbp_ret_below_the_frame_register_is_harmless()
    {
        // The allocation lies below the frame register, which the codes describe; add rsp,16;
        // pop rbp; ret is an epilog the scan recognises, and before it rbp holds the frame.
        var (verdict, _) = Verify(
            [0x55, 0x48, 0x89, 0xE5, 0x48, 0x83, 0xEC, 0x10, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x10, 0x5D, 0xC3],
            FunctionImage.Info(1, 0, 4, Rbp, 0, FunctionImage.Code(4, SetFpreg, 0), FunctionImage.Code(1, Push, Rbp)));

        Assert.Empty(verdict.Hazards);
        Assert.Equal(7, verdict.InstructionsChecked);
    }

    [Fact]
    public void Leave_ret_is_harmless()
    {
        // 0 push rbp; 1 mov rbp,rsp; 4 sub rsp,0x20; 8 xor eax,eax; 10 leave; 11 ret
        var (verdict, _) = Verify(
            [0x55, 0x48, 0x89, 0xE5, 0x48, 0x83, 0xEC, 0x20, 0x31, 0xC0, 0xC9, 0xC3],
            FunctionImage.Info(1, 0, 8, Rbp, 0, FunctionImage.Code(8, AllocSmall, 3), FunctionImage.Code(4, SetFpreg, 0), FunctionImage.Code(1, Push, Rbp)));

        Assert.Empty(verdict.Hazards);
        Assert.Equal(6, verdict.InstructionsChecked);
    }

    [Fact]
    public void Rsp_moved_while_the_frame_register_holds_the_frame_is_harmless()
    {
        // MSVC/GCC shape: 0 push rbp; 1 push rbx; 2 sub rsp,0x28; 6 lea rbp,[rsp+0x20];
        // 11 sub rsp,rcx (alloca); 14 lea rsp,[rbp+8]; 18 mov eax,1; 23 pop rbx; 24 pop rbp; 25 ret
        // Codes: SET_FPREG rbp (offset 0x20) at 11, ALLOC 0x28 at 6, PUSH rbx at 2, PUSH rbp at 1.
        var (verdict, _) = Verify(
            [0x55, 0x53, 0x48, 0x83, 0xEC, 0x28, 0x48, 0x8D, 0x6C, 0x24, 0x20, 0x48, 0x29, 0xCC, 0x48, 0x8D, 0x65, 0x08, 0xB8, 0x01, 0x00, 0x00, 0x00, 0x5B, 0x5D, 0xC3],
            FunctionImage.Info(1, 0, 11, Rbp, 2, FunctionImage.Code(11, SetFpreg, 0), FunctionImage.Code(6, AllocSmall, 4), FunctionImage.Code(2, Push, Rbx), FunctionImage.Code(1, Push, Rbp)));

        Assert.Empty(verdict.Hazards);
        Assert.Empty(verdict.UnbalancedJoins);
    }

    [Fact]
    public void A_push_no_code_records_is_a_hazard_in_the_prolog_and_body()
    {
        // 0 push rbx; 1 push rsi; 2 sub rsp,0x20; 6 xor eax,eax; 8 add rsp,0x20; 12 pop rsi; 13 pop rbx; 14 ret
        // Codes record push rbx and the allocation only: from offset 2 on the walk is 8 bytes short.
        var (verdict, _) = Verify(
            [0x53, 0x56, 0x48, 0x83, 0xEC, 0x20, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x20, 0x5E, 0x5B, 0xC3],
            FunctionImage.Info(1, 0, 6, 0, 0, FunctionImage.Code(6, AllocSmall, 3), FunctionImage.Code(1, Push, Rbx)));

        var rvas = verdict.Hazards.Where(h => h.Kind == HazardKind.WrongCaller).Select(h => h.Rva - FunctionImage.Begin(0)).ToList();
        // At 2 (after push rsi; no code yet for the alloc): codes pop rbx from entry-16, return through entry-8.
        // At 6: alloc + pop rbx: same. At 8 (add rsp): epilog scan finds add, pop rsi, pop rbx, ret: simulated, right.
        Assert.Equal([2u, 6u], rvas);
    }

    [Fact]
    public void A_body_that_moves_rsp_without_a_frame_register_is_a_hazard()
    {
        // 0 sub rsp,0x28; 4 sub rsp,8; 8 xor eax,eax; 10 add rsp,8; 14 add rsp,0x28; 18 ret
        var (verdict, _) = Verify(
            [0x48, 0x83, 0xEC, 0x28, 0x48, 0x83, 0xEC, 0x08, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x08, 0x48, 0x83, 0xC4, 0x28, 0xC3],
            FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        // At 8 and 10 rsp is entry-0x30: the codes add 0x28 and return through [entry rsp-8].
        // At 10 the scan sees add rsp,8 then add rsp,0x28: not pops, not an epilog.
        Assert.Equal([8u, 10u], verdict.Hazards.Select(h => h.Rva - FunctionImage.Begin(0)));
        Assert.All(verdict.Hazards, h => Assert.Equal(Sym.Stack(-8), h.ReturnAddressFrom));
    }

    [Fact]
    public void An_early_ret_before_the_prolog_ran_is_harmless()
    {
        // 0 test ecx,ecx; 2 jne 5; 4 ret; 5 push rbx; 6 sub rsp,0x20; 10 add rsp,0x20; 14 pop rbx; 15 ret
        // The ret at 4 lies in the prolog region but is an epilog to the scan; rsp is entry rsp there.
        var (verdict, _) = Verify(
            [0x85, 0xC9, 0x75, 0x01, 0xC3, 0x53, 0x48, 0x83, 0xEC, 0x20, 0x48, 0x83, 0xC4, 0x20, 0x5B, 0xC3],
            FunctionImage.Info(1, 0, 10, 0, 0, FunctionImage.Code(10, AllocSmall, 3), FunctionImage.Code(6, Push, Rbx)));

        Assert.Empty(verdict.Hazards);
        Assert.Equal(8, verdict.InstructionsChecked);
    }

    [Fact]
    public void A_loop_branching_back_into_its_own_first_block_judges_each_instruction_once()
    {
        // 0 sub rsp,0x28; 4 mov ecx,10; 9 xor eax,eax; 11 dec ecx; 13 jnz 11; 15 add rsp,0x28; 19 ret
        // The jnz is found while the first block is walked and leads back into what it walked:
        // that block must end at 11, or 11-19 are judged in it and again in the loop's block.
        var (verdict, judged) = VerifyJudged(
            [0x48, 0x83, 0xEC, 0x28, 0xB9, 0x0A, 0x00, 0x00, 0x00, 0x31, 0xC0, 0xFF, 0xC9, 0x75, 0xFC, 0x48, 0x83, 0xC4, 0x28, 0xC3],
            FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.Equal([0u, 4u, 9u, 11u, 13u, 15u, 19u], judged.Order());
        Assert.Equal(7, verdict.InstructionsChecked);
    }

    [Fact]
    public void Switch_table_bytes_inside_the_function_are_never_decoded()
    {
        // 0 sub rsp,0x28; 4 cmp ecx,2; 7 ja 34; 9 lea rax,[rip+table]; 16 movsxd rcx,[rax+rcx*4];
        // 20 add rcx,rax; 23 jmp rcx; 25 case0: mov eax,5; 30 jmp 36; 32 case1/2: (xor eax,eax)
        // 34 default: 31 C0 (xor eax,eax); 36 add rsp,0x28; 40 ret; 41 pad; 44 table: 3 offsets from
        // the table (25-44, 34-44, 34-44) whose bytes (EB FF FF FF, F6 FF FF FF) are not code.
        byte[] code =
        [
            0x48, 0x83, 0xEC, 0x28, 0x83, 0xF9, 0x02, 0x77, 0x19, 0x48, 0x8D, 0x05, 0x1C, 0x00, 0x00, 0x00,
            0x48, 0x63, 0x0C, 0x88, 0x48, 0x01, 0xC1, 0xFF, 0xE1, 0xB8, 0x05, 0x00, 0x00, 0x00, 0xEB, 0x04,
            0x31, 0xC0, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x28, 0xC3, 0xCC, 0xCC, 0xCC,
            0xED, 0xFF, 0xFF, 0xFF, 0xF6, 0xFF, 0xFF, 0xFF, 0xF6, 0xFF, 0xFF, 0xFF,
        ];
        var (verdict, judged) = VerifyJudged(code, FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.Empty(verdict.Unfollowed);
        Assert.Contains(25u, judged); // case 0 reached through the table
        Assert.Contains(34u, judged);
        Assert.DoesNotContain(judged, offset => offset >= 41);
    }

    [Fact]
    public void Msvc_switch_through_a_byte_table_is_followed_when_the_index_is_widened_into_another_register()
    {
        // clrjit.dll's shape: 0 sub rsp,0x28; 4 cmp ecx,2; 7 ja 50; 9 movsxd rax,ecx;
        // 12 lea r13,[__ImageBase]; 19 movzx eax,byte [rax+r13+bytes] (the bounded register is the
        // base, the image base the index); 28 mov ecx,[r13+rax*4+table]; 36 add rcx,r13; 39 jmp rcx;
        // 41 case0: mov eax,5; 46 jmp 50; 48 case1: xor eax,eax; 50 add rsp,0x28; 54 ret; 55 pad;
        // 56 bytes 00 01 01 (case numbers of 0..2); 59 pad; 60 table: the RVAs of 41 and 48
        // (offsets checked with objdump -D -b binary).
        var begin = FunctionImage.Begin(0);
        var imageBase = BitConverter.GetBytes((int)(0 - (begin + 19)));
        var bytes = BitConverter.GetBytes(begin + 56);
        var table = BitConverter.GetBytes(begin + 60);
        byte[] code =
        [
            0x48, 0x83, 0xEC, 0x28, 0x83, 0xF9, 0x02, 0x77, 0x29, 0x48, 0x63, 0xC1,
            0x4C, 0x8D, 0x2D, .. imageBase,
            0x42, 0x0F, 0xB6, 0x84, 0x28, .. bytes,
            0x41, 0x8B, 0x8C, 0x85, .. table,
            0x4C, 0x01, 0xE9, 0xFF, 0xE1, 0xB8, 0x05, 0x00, 0x00, 0x00, 0xEB, 0x02, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x28, 0xC3, 0xCC,
            0x00, 0x01, 0x01, 0xCC, .. BitConverter.GetBytes(begin + 41), .. BitConverter.GetBytes(begin + 48),
        ];
        var (verdict, judged) = VerifyJudged(code, FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.Empty(verdict.Unfollowed);
        Assert.Contains(41u, judged);
        Assert.Contains(48u, judged);
        Assert.DoesNotContain(judged, offset => offset >= 55);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_constant_stored_over_a_saved_register_counts_only_through_rsp(bool throughRsp)
    {
        // 0 push rbx; 1 sub rsp,0x20; then either 5 lea rax,[rsp+0x20]; 10 mov qword [rax],0
        // (a pointer that a path the program never takes aims at the save area: the slot is
        // forgotten) or 5 mov qword [rsp+0x20],0 (the function clears its own saved rbx: a walk
        // after it restores rbx = 0); then add rsp,0x20; pop rbx; ret.
        byte[] store = throughRsp
            ? [0x48, 0xC7, 0x44, 0x24, 0x20, 0x00, 0x00, 0x00, 0x00]
            : [0x48, 0x8D, 0x44, 0x24, 0x20, 0x48, 0xC7, 0x00, 0x00, 0x00, 0x00, 0x00];
        var (verdict, _) = Verify(
            [0x53, 0x48, 0x83, 0xEC, 0x20, .. store, 0x48, 0x83, 0xC4, 0x20, 0x5B, 0xC3],
            FunctionImage.Info(1, 0, 5, 0, 0, FunctionImage.Code(5, AllocSmall, 3), FunctionImage.Code(1, Push, Rbx)));

        if (throughRsp)
        {
            // At the add (codes) and at the pop (epilog scan) the walk restores rbx from the
            // cleared slot; at the ret rbx is already popped.
            var after = FunctionImage.Begin(0) + 5 + (uint)store.Length;
            Assert.Equal([after, after + 4], verdict.Hazards.Select(h => h.Rva));
            Assert.All(verdict.Hazards, h => Assert.Equal((HazardKind.WrongRegister, Rbx, Sym.Constant(0)), (h.Kind, h.Register, h.RestoredValue)));
        }
        else
        {
            Assert.Empty(verdict.Hazards);
        }
    }

    [Fact]
    public void A_switch_is_bounded_by_the_tighter_check_of_the_register_its_index_was_copied_from()
    {
        // bun.exe's shape: 0 sub rsp,0x28; 4 movzx ecx,dx; 7 cmp ecx,0x20; 10 jae 43; 12 cmp dx,1;
        // 16 ja 43 (dx, so ecx, is at most 1: two cases); 18 lea rdx,[rip+table]; 25 movsxd
        // rax,[rdx+rcx*4]; 29 add rax,rdx; 32 jmp rax; 34 case0: mov eax,5; 39 jmp 43; 41 case1:
        // xor eax,eax; 43 add rsp,0x28; 47 ret; 48 table: 34-48, 41-48, then a word that is not an
        // entry (35-48, inside case 0's mov).
        byte[] code =
        [
            0x48, 0x83, 0xEC, 0x28, 0x0F, 0xB7, 0xCA, 0x83, 0xF9, 0x20, 0x73, 0x1F, 0x66, 0x83, 0xFA, 0x01, 0x77, 0x19,
            0x48, 0x8D, 0x15, 0x17, 0x00, 0x00, 0x00, 0x48, 0x63, 0x04, 0x8A, 0x48, 0x01, 0xD0, 0xFF, 0xE0,
            0xB8, 0x05, 0x00, 0x00, 0x00, 0xEB, 0x02, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x28, 0xC3,
            0xF2, 0xFF, 0xFF, 0xFF, 0xF9, 0xFF, 0xFF, 0xFF, 0xF3, 0xFF, 0xFF, 0xFF,
        ];
        var (verdict, judged) = VerifyJudged(code, FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.Contains(34u, judged);
        Assert.Contains(41u, judged);
        Assert.DoesNotContain(35u, judged);
        Assert.DoesNotContain(judged, offset => offset >= 48);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_switch_is_bounded_by_the_check_on_the_single_path_into_its_block(bool secondPath)
    {
        // 0 sub rsp,0x28; 4 cmp ecx,1; 7 jbe sw (taken: ecx is at most 1); [9 test r8,r8; 12 jnz sw:
        // a second way in, with no bound]; mov eax,7; jmp done; sw: lea rdx,[rip+table]; movsxd
        // rax,[rdx+rcx*4]; add rax,rdx; jmp rax; case0: mov eax,5; jmp done; case1: xor eax,eax;
        // done: add rsp,0x28; ret; table: case0, case1, then a word that is not an entry (case0+1,
        // inside its mov). Offsets from nasm's listing.
        byte[] code = secondPath
            ?
            [
                0x48, 0x83, 0xEC, 0x28, 0x83, 0xF9, 0x01, 0x76, 0x0C, 0x4D, 0x85, 0xC0, 0x75, 0x07, 0xB8, 0x07, 0x00, 0x00, 0x00, 0xEB,
                0x19, 0x48, 0x8D, 0x15, 0x17, 0x00, 0x00, 0x00, 0x48, 0x63, 0x04, 0x8A, 0x48, 0x01, 0xD0, 0xFF, 0xE0, 0xB8, 0x05, 0x00,
                0x00, 0x00, 0xEB, 0x02, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x28, 0xC3, 0xF2, 0xFF, 0xFF, 0xFF, 0xF9, 0xFF, 0xFF, 0xFF, 0xF3,
                0xFF, 0xFF, 0xFF,
            ]
            :
            [
                0x48, 0x83, 0xEC, 0x28, 0x83, 0xF9, 0x01, 0x76, 0x07, 0xB8, 0x07, 0x00, 0x00, 0x00, 0xEB, 0x19, 0x48, 0x8D, 0x15, 0x17,
                0x00, 0x00, 0x00, 0x48, 0x63, 0x04, 0x8A, 0x48, 0x01, 0xD0, 0xFF, 0xE0, 0xB8, 0x05, 0x00, 0x00, 0x00, 0xEB, 0x02, 0x31,
                0xC0, 0x48, 0x83, 0xC4, 0x28, 0xC3, 0xF2, 0xFF, 0xFF, 0xFF, 0xF9, 0xFF, 0xFF, 0xFF, 0xF3, 0xFF, 0xFF, 0xFF,
            ];
        var (case0, case1) = secondPath ? (0x25u, 0x2Cu) : (0x20u, 0x27u);
        var (verdict, judged) = VerifyJudged(code, FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.DoesNotContain(case0 + 1, judged);
        if (secondPath)
        {
            // The index is unbounded on the second path: the table is not read at all.
            Assert.Single(verdict.Unfollowed);
            Assert.DoesNotContain(case0, judged);
        }
        else
        {
            Assert.Empty(verdict.Unfollowed);
            Assert.Contains(case0, judged);
            Assert.Contains(case1, judged);
        }
    }

    [Fact]
    public void A_switch_read_with_its_path_is_read_again_when_a_later_found_path_reaches_it_unbounded()
    {
        // 0 sub rsp,0x28; 4 cmp ecx,1; 7 jbe sw (ecx at most 1); 9 mov eax,7; 14 jmp done; 16 sw: lea
        // rdx,[rip+table]; 23 movsxd rax,[rdx+rcx*4]; 27 add rax,rdx; 30 jmp rax; 32 case0: mov eax,5;
        // 37 jmp done; 39 case1: mov ecx,r9d; 42 jmp sw (found only through the table: a second,
        // unbounded way in); 44 done: add rsp,0x28; 48 ret; 49 table: case0, case1, case0+1.
        byte[] code =
        [
            0x48, 0x83, 0xEC, 0x28, 0x83, 0xF9, 0x01, 0x76, 0x07, 0xB8, 0x07, 0x00, 0x00, 0x00, 0xEB, 0x1C, 0x48, 0x8D, 0x15, 0x1A,
            0x00, 0x00, 0x00, 0x48, 0x63, 0x04, 0x8A, 0x48, 0x01, 0xD0, 0xFF, 0xE0, 0xB8, 0x05, 0x00, 0x00, 0x00, 0xEB, 0x05, 0x44,
            0x89, 0xC9, 0xEB, 0xE4, 0x48, 0x83, 0xC4, 0x28, 0xC3, 0xEF, 0xFF, 0xFF, 0xFF, 0xF6, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF,
            0xFF,
        ];
        var (verdict, judged) = VerifyJudged(code, FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.Contains(32u, judged);
        Assert.Contains(39u, judged);
        Assert.DoesNotContain(33u, judged);
        Assert.Equal(30u, Assert.Single(verdict.Unfollowed).Rva - FunctionImage.Begin(0));
    }

    [Theory]
    [InlineData(0x103, 4)]
    [InlineData(0x181, 128)]
    public void A_switch_on_the_low_byte_of_a_range_reads_only_the_entries_the_range_and_sign_allow(int high, int entries)
    {
        // LLVM's byte switch (bun.exe): 0 sub rsp,0x28; 4 cmp ecx,0x100; 10 jb low; 12 cmp ecx,high;
        // 18 ja low; [test cl,cl; js low: the cases 0x180.. are elsewhere]; movzx ecx,cl (ecx is in
        // 0x100..high, so cl in 0..high-0x100, and not negative: at most 0x7F); lea rdx,[rip+table];
        // movsxd rax,[rdx+rcx*4]; add rax,rdx; jmp rax; case0: mov eax,5; jmp done; low: xor eax,eax;
        // done: add rsp,0x28; ret; pad; table: `entries` entries to case0, then words that are not
        // entries (case0+1, inside its mov). Offsets from nasm's listing.
        var signed = entries > 4;
        byte[] check = signed ? [0x81, 0x01, 0x00, 0x00, 0x77, 0x1E, 0x84, 0xC9, 0x78, 0x1A] : [0x03, 0x01, 0x00, 0x00, 0x77, 0x1A];
        Assert.Equal(high, check[0] | (check[1] << 8));
        byte[] body =
        [
            0x48, 0x83, 0xEC, 0x28, 0x81, 0xF9, 0x00, 0x01, 0x00, 0x00, 0x72, (byte)(signed ? 0x26 : 0x22), 0x81, 0xF9, .. check,
            0x0F, 0xB6, 0xC9, 0x48, 0x8D, 0x15, 0x1A, 0x00, 0x00, 0x00, 0x48, 0x63, 0x04, 0x8A, 0x48, 0x01, 0xD0, 0xFF, 0xE0,
            0xB8, 0x05, 0x00, 0x00, 0x00, 0xEB, 0x02, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x28, 0xC3, 0x90, 0x90, 0x90,
        ];
        var case0 = (uint)body.Length - 0x11;
        var table = Enumerable.Repeat(BitConverter.GetBytes(-0x11), entries).Concat(Enumerable.Repeat(BitConverter.GetBytes(-0x10), 8)).SelectMany(e => e);
        var (verdict, judged) = VerifyJudged([.. body, .. table], FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 4)));

        Assert.Empty(verdict.Hazards);
        Assert.Empty(verdict.Unfollowed);
        Assert.Contains(case0, judged);
        Assert.DoesNotContain(case0 + 1, judged);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_tail_call_that_drops_stack_arguments_returns_through_the_copied_return_address(bool copiesReturnAddress)
    {
        // V8's shape: 0 sub rsp,0x18; 4 mov rax,[rsp+0x18] (the return address); 9 mov
        // [rsp+0x28],rax (over the second stack argument, entry+0x10) or mov [rsp+0x28],rcx;
        // 14 add rsp,0x28; 18 jmp out (a tail call that pops two arguments). At the add and the
        // jmp the epilog scan returns through entry+0x10: the return address when it was copied
        // there (the right caller, RSP above the popped arguments), else whatever rcx was.
        byte[] store = copiesReturnAddress ? [0x48, 0x89, 0x44, 0x24, 0x28] : [0x48, 0x89, 0x4C, 0x24, 0x28];
        var (verdict, _) = Verify(
            [0x48, 0x83, 0xEC, 0x18, 0x48, 0x8B, 0x44, 0x24, 0x18, .. store, 0x48, 0x83, 0xC4, 0x28, 0xE9, 0x69, 0x00, 0x00, 0x00],
            FunctionImage.Info(1, 0, 4, 0, 0, FunctionImage.Code(4, AllocSmall, 2)));

        if (copiesReturnAddress)
        {
            Assert.Empty(verdict.Hazards);
        }
        else
        {
            Assert.Equal([FunctionImage.Begin(0) + 14, FunctionImage.Begin(0) + 18], verdict.Hazards.Select(h => h.Rva));
            Assert.All(verdict.Hazards, h => Assert.Equal((HazardKind.WrongCaller, UnwindPath.EpilogScan), (h.Kind, h.Path)));
        }
    }

    [Fact]
    public void A_function_with_no_codes_and_its_own_handler_is_described_as_handler_only()
    {
        // Flags EHANDLER, no codes, handler = function 1; body pushes and allocates.
        var image = new FunctionImage();
        var info = FunctionImage.Info(1, 1, 0, 0, 0);
        var handler = FunctionImage.Begin(1);
        byte[] withHandler = [.. info, (byte)handler, (byte)(handler >> 8), 0, 0];
        image.Add([0x53, 0x48, 0x83, 0xEC, 0x20, 0x31, 0xC0, 0x48, 0x83, 0xC4, 0x20, 0x5B, 0xC3], withHandler);
        image.Add([0x31, 0xC0, 0xC3], FunctionImage.Info(1, 0, 0, 0, 0));
        var (verdict, _) = Verify(image, 0);

        Assert.Equal(FrameDescription.HandlerOnly, verdict.Description);
        Assert.NotEmpty(verdict.Hazards);
    }

    [Fact]
    public void A_register_restored_from_below_rsp_is_a_released_slot_not_a_wrong_caller()
    {
        // 0 push rbp; 1 push rbx; 2 mov rbp,rsp; 5 sub rsp,0x20; 9 lea rsp,[rbp+8]; 13 mov eax,1; 18 pop rbp; 19 ret
        // Codes: ALLOC 0x20 at 9, SET_FPREG rbp at 5, PUSH rbx at 2, PUSH rbp at 1. At 13 rsp is
        // entry-8 but rbx's slot is entry-16: the walk reads it from below rsp.
        var (verdict, _) = Verify(
            [0x55, 0x53, 0x48, 0x89, 0xE5, 0x48, 0x83, 0xEC, 0x20, 0x48, 0x8D, 0x65, 0x08, 0xB8, 0x01, 0x00, 0x00, 0x00, 0x5D, 0xC3],
            FunctionImage.Info(1, 0, 9, Rbp, 0, FunctionImage.Code(9, AllocSmall, 3), FunctionImage.Code(5, SetFpreg, 0), FunctionImage.Code(2, Push, Rbx), FunctionImage.Code(1, Push, Rbp)));

        var hazard = Assert.Single(verdict.Hazards);
        Assert.Equal(HazardKind.ReleasedSlot, hazard.Kind);
        Assert.Equal(FunctionImage.Begin(0) + 13, hazard.Rva);
        Assert.Equal(Rbx, hazard.Register);
        Assert.Equal(Sym.Stack(-16), hazard.SlotAddress);
    }

    [Fact]
    public void Pops_in_the_wrong_order_are_an_epilog_that_restores_the_wrong_register()
    {
        // 0 push rbx; 1 push rsi; 2 sub rsp,0x28; 6 add rsp,0x28; 10 pop rbx; 11 pop rsi; 12 ret
        var (verdict, _) = Verify(
            [0x53, 0x56, 0x48, 0x83, 0xEC, 0x28, 0x48, 0x83, 0xC4, 0x28, 0x5B, 0x5E, 0xC3],
            FunctionImage.Info(1, 0, 6, 0, 0, FunctionImage.Code(6, AllocSmall, 4), FunctionImage.Code(2, Push, Rsi), FunctionImage.Code(1, Push, Rbx)));

        var first = verdict.Hazards[0];
        Assert.Equal(HazardKind.WrongRegister, first.Kind);
        Assert.Equal(UnwindPath.EpilogScan, first.Path);
        Assert.Equal(Sym.Entry(Rsi), first.RestoredValue);
    }

    [Fact]
    public void A_stack_probe_call_keeps_rax_so_sub_rsp_rax_allocates_the_frame()
    {
        // MSVC's large frame: 0 mov eax,0x1028; 5 call __chkstk (function 1: ret); 10 sub rsp,rax;
        // 13 xor eax,eax; 15 add rsp,0x1028; 22 ret. Code: ALLOC_LARGE 0x1028 (0x205 slots of 8) at
        // 13. The probe returns with RAX as it found it, so RSP is entry-0x1028 from 13 on and every
        // instruction unwinds to the caller; were RAX lost at the call, RSP would be unknown there.
        var image = new FunctionImage();
        var probe = FunctionImage.Begin(1) - (FunctionImage.Begin(0) + 10);
        image.Add(
            [0xB8, 0x28, 0x10, 0x00, 0x00, 0xE8, (byte)probe, (byte)(probe >> 8), 0x00, 0x00, 0x48, 0x2B, 0xE0, 0x31, 0xC0,
                0x48, 0x81, 0xC4, 0x28, 0x10, 0x00, 0x00, 0xC3],
            FunctionImage.Info(1, 0, 13, 0, 0, FunctionImage.Code(13, AllocLarge, 0), 0x0205));
        image.Add([0xC3], FunctionImage.Info(1, 0, 0, 0, 0));
        var (verdict, _) = Verify(image, 0);

        Assert.Empty(verdict.Hazards);
        Assert.Equal((6, 0), (verdict.InstructionsChecked, verdict.InstructionsUnjudged));
    }

    // Verifies, with the offsets from the function's start of the instructions judged, in judging order.
    private static (FunctionVerdict Verdict, List<uint> Judged) VerifyJudged(byte[] code, byte[] info)
    {
        var judged = new List<uint>();
        var (verdict, _) = Verify(code, info, rva => judged.Add(rva - FunctionImage.Begin(0)));
        return (verdict, judged);
    }

    private static (FunctionVerdict Verdict, byte[] Image) Verify(byte[] code, byte[] info, Action<uint>? judged = null)
    {
        var image = new FunctionImage();
        image.Add(code, info);
        return Verify(image, 0, judged);
    }

    private static (FunctionVerdict Verdict, byte[] Image) Verify(FunctionImage builder, int function, Action<uint>? judged = null)
    {
        var bytes = builder.Build();
        using var image = PeImage.Load(bytes, "stackwalk.exe").Image!;
        var verdict = Assert.Single(StackWalkAnalysis.VerifyEach(image, f => f.Primary.BeginAddress == FunctionImage.Begin(function), null,
            (rva, _, _) => judged?.Invoke(rva)));
        var analysis = StackWalkAnalysis.Of(new AnalysisContext(image));
        Assert.True(analysis.FunctionsVerified >= 1);
        return (verdict, bytes);
    }
}
