namespace Pelint.Pe;

/// <summary>
/// Every kind of problem a reader or analysis reports. The names (<see cref="ProblemCodes.Id"/>)
/// go into result fingerprints, so a name never changes once released; two structures may share
/// a name (a directory of either kind can be "directory-unmapped").
/// </summary>
public enum ProblemCode
{
    // Headers
    SectionsOver32767,
    SectionTableTruncated,

    // Base relocations
    RelocationDirectoryUnmapped,
    RelocationDirectoryTruncated,
    RelocationBlockHeaderTruncated,
    RelocationBlockOverrun,

    // Load configuration
    LoadConfigUnmapped,
    LoadConfigSizeTooSmall,
    LoadConfigSizePastSection,
    LoadConfigSizeOverrun,

    // x86 safe exception handler table (SEHandlerTable)
    SafeSehTableOutsideImage,
    SafeSehTableTruncated,
    SafeSehCountOverCap,

    // Imports and exports
    ImportTooManyDescriptors,
    ImportDescriptorUnmapped,
    ImportBadDllName,
    ImportThunkUnmapped,
    ImportBadHintName,
    ExportDirectoryUnmapped,
    ExportTableTruncated,

    // Debug directory
    DebugDirectoryTruncated,

    // Exception directory
    ExceptionDirectorySizeNotMultiple,
    ExceptionDirectoryTruncated,

    // UNWIND_INFO
    UnwindHeaderUnmapped,
    UnwindBadVersion,
    UnwindFlagsChainAndHandler,
    UnwindFlagsUnknown,
    UnwindCodesOutsideSection,
    UnwindChainOutsideSection,
    UnwindHandlerOutsideSection,
    UnwindBadAllocLarge,
    UnwindEpilogCodeMisplaced,
    UnwindObsoleteOp,
    UnwindUnknownOp,
    UnwindTruncatedOp,

    // Chains: CHAININFO links and low-bit indirect entries
    ChainOutsideDirectory,
    ChainNotEntryBoundary,
    ChainCycle,
    ChainTooDeep,
    ChainIndirectUnresolved,
    ChainUnreadable,
    ChainParentMissing,
    ChainParentMismatch,

    // C scope tables
    ScopeTableUnmapped,
    ScopeTableAbsurdCount,
    ScopeTableOutsideSection,

    // ARM64 .pdata and .xdata
    Arm64PdataSizeNotMultiple,
    Arm64PdataTruncated,
    Arm64XdataUnmapped,
    Arm64XdataTruncated,
}

/// <summary>Stable names of <see cref="ProblemCode"/>s.</summary>
public static class ProblemCodes
{
    /// <summary>The code's stable kebab-case name, as it appears in fingerprints.</summary>
    public static string Id(this ProblemCode code) => code switch
    {
        ProblemCode.SectionsOver32767 => "sections-over-32767",
        ProblemCode.SectionTableTruncated => "section-table-truncated",
        ProblemCode.RelocationDirectoryUnmapped => "directory-unmapped",
        ProblemCode.RelocationDirectoryTruncated => "directory-truncated",
        ProblemCode.RelocationBlockHeaderTruncated => "block-header-truncated",
        ProblemCode.RelocationBlockOverrun => "block-overrun",
        ProblemCode.LoadConfigUnmapped => "unmapped",
        ProblemCode.LoadConfigSizeTooSmall => "size-too-small",
        ProblemCode.LoadConfigSizePastSection => "size-past-section",
        ProblemCode.LoadConfigSizeOverrun => "size-overrun",
        ProblemCode.SafeSehTableOutsideImage => "seh-table-outside-image",
        ProblemCode.SafeSehTableTruncated => "seh-table-truncated",
        ProblemCode.SafeSehCountOverCap => "seh-count-over-cap",
        ProblemCode.ImportTooManyDescriptors => "too-many-descriptors",
        ProblemCode.ImportDescriptorUnmapped => "descriptor-unmapped",
        ProblemCode.ImportBadDllName => "bad-dll-name",
        ProblemCode.ImportThunkUnmapped => "thunk-unmapped",
        ProblemCode.ImportBadHintName => "bad-hint-name",
        ProblemCode.ExportDirectoryUnmapped => "directory-unmapped",
        ProblemCode.ExportTableTruncated => "table-truncated",
        ProblemCode.DebugDirectoryTruncated => "directory-truncated",
        ProblemCode.ExceptionDirectorySizeNotMultiple => "size-not-multiple",
        ProblemCode.ExceptionDirectoryTruncated => "truncated",
        ProblemCode.UnwindHeaderUnmapped => "header-unmapped",
        ProblemCode.UnwindBadVersion => "bad-version",
        ProblemCode.UnwindFlagsChainAndHandler => "flags-chain-and-handler",
        ProblemCode.UnwindFlagsUnknown => "flags-unknown",
        ProblemCode.UnwindCodesOutsideSection => "codes-outside-section",
        ProblemCode.UnwindChainOutsideSection => "chain-outside-section",
        ProblemCode.UnwindHandlerOutsideSection => "handler-outside-section",
        ProblemCode.UnwindBadAllocLarge => "bad-alloc-large",
        ProblemCode.UnwindEpilogCodeMisplaced => "epilog-code-misplaced",
        ProblemCode.UnwindObsoleteOp => "obsolete-op",
        ProblemCode.UnwindUnknownOp => "unknown-op",
        ProblemCode.UnwindTruncatedOp => "truncated-op",
        ProblemCode.ChainOutsideDirectory => "outside-directory",
        ProblemCode.ChainNotEntryBoundary => "not-entry-boundary",
        ProblemCode.ChainCycle => "cycle",
        ProblemCode.ChainTooDeep => "too-deep",
        ProblemCode.ChainIndirectUnresolved => "indirect-unresolved",
        ProblemCode.ChainUnreadable => "chain-unreadable",
        ProblemCode.ChainParentMissing => "parent-missing",
        ProblemCode.ChainParentMismatch => "parent-mismatch",
        ProblemCode.ScopeTableUnmapped => "unmapped",
        ProblemCode.ScopeTableAbsurdCount => "absurd-count",
        ProblemCode.ScopeTableOutsideSection => "outside-section",
        ProblemCode.Arm64PdataSizeNotMultiple => "arm64-pdata-size-not-multiple",
        ProblemCode.Arm64PdataTruncated => "arm64-pdata-truncated",
        ProblemCode.Arm64XdataUnmapped => "arm64-xdata-unmapped",
        ProblemCode.Arm64XdataTruncated => "arm64-xdata-truncated",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "a problem code without a name"),
    };
}
