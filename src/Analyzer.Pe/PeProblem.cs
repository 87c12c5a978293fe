namespace Pelint.Pe;

/// <summary>The part of the image a structural problem was found in.</summary>
public enum PeStructure
{
    File,
    Headers,
    Sections,
    BaseRelocations,
    LoadConfig,
    Imports,
    Exports,
    Debug,
    ExceptionDirectory,
    UnwindInfo,
    ScopeTable,
    Code,
}

/// <summary>
/// A structure that could not be read as the format requires, or a fact an analysis could not
/// establish. Readers and analyses return these instead of throwing, so a hostile file becomes
/// findings and the scan goes on. It is the one shape of "something is wrong" below the rules.
/// </summary>
/// <param name="Structure">Where the problem is.</param>
/// <param name="Code">The kind of problem; <see cref="Id"/> is its stable name (used in fingerprints).</param>
/// <param name="Message">A sentence for people, naming the offending values.</param>
/// <param name="Rva">RVA of the offending structure, when it has one.</param>
/// <param name="FileOffset">File offset of the offending bytes, when they are in the file.</param>
/// <param name="Length">Length of the offending bytes in the file.</param>
public sealed record PeProblem(
    PeStructure Structure,
    ProblemCode Code,
    string Message,
    uint? Rva = null,
    long? FileOffset = null,
    int? Length = null)
{
    /// <summary>The code's stable kebab-case name.</summary>
    public string Id => Code.Id();
}
