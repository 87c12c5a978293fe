namespace Pelint.Rules;

/// <summary>
/// Every rule pelint runs, listed by hand: no reflection, so a trimmed or NativeAOT build finds
/// them all. A test fails when a rule class is missing here or a page in rules/ has no class.
/// </summary>
public static class RuleRegistry
{
    /// <summary>A new instance of every rule, in ID order.</summary>
    public static IReadOnlyList<IRule> CreateAll() =>
    [
        new DynamicBase(),                // PE1001
        new RelocationsForAslr(),         // PE1002
        new RelocationBlocks(),           // PE1003
        new HighEntropyVa(),              // PE1004
        new NxCompat(),                   // PE1005
        new ImageBaseAbove4Gb(),          // PE1006
        new ControlFlowGuard(),           // PE1007
        new CetShadowStack(),             // PE1008
        new WritableExecutableSection(),  // PE1009
        new WritableSharedSection(),      // PE1010
        new HotpatchFirstInstruction(),   // PE2001
        new HotpatchPadding(),            // PE2002
        new HotpatchEntryBranch(),        // PE2003
        new ExceptionDirectoryRule(),     // PE3001
        new UnwindInfoRule(),             // PE3002
        new ChainedUnwind(),              // PE3003
        new IndirectRuntimeFunction(),    // PE3004
        new EpilogForm(),                 // PE3005
        new EpilogMatchesProlog(),        // PE3006
        new ScopeTableRule(),             // PE3007
        new UnwindV2Epilogs(),            // PE3008
        new EpilogDocumentedForm(),       // PE3009
        new UnwindCodesMatchFrame(),      // PE3010
        new UnwindReleasedSlot(),         // PE3011
        new UnwindHandlerOnly(),          // PE3012
        new UnwindUnverified(),           // PE3013
        new Arm64FunctionTableRule(),     // PE4001
        new Arm64UnwindFormat(),          // PE4002
        new Arm64UnwindReserved(),        // PE4003
        new Arm64PackedUnwindRule(),      // PE4004
        new Arm64PrologMatchesCodes(),    // PE4005
        new Arm64EpilogMatchesCodes(),    // PE4006
        new Arm64ECCodeMap(),             // PE4007
        new SafeSeh(),                    // PE5001
        new SafeSehTableRule(),           // PE5002
        new SafeSehHandlerInCode(),       // PE5003
        new NoSehWithHandlers(),          // PE5004
    ];
}
