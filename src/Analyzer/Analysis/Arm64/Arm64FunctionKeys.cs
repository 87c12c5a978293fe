using Pelint.Pe.Exceptions.Arm64;
using Pelint.Pe.Headers;

namespace Pelint.Analysis.Arm64;

/// <summary>
/// Keys of the ARM64 table's functions that survive a rebuild: the export name, else the
/// entry's ordinal among the table's entries in its section (never its RVA). One pass per image.
/// </summary>
public sealed class Arm64FunctionKeys
{
    private static readonly AnalysisKey<Arm64FunctionKeys> Key = new("arm64-function-keys", Build);

    private readonly AnalysisContext _context;
    private readonly SectionInfo?[] _sections;
    private readonly int[] _ordinals;

    private Arm64FunctionKeys(AnalysisContext context, SectionInfo?[] sections, int[] ordinals)
    {
        _context = context;
        _sections = sections;
        _ordinals = ordinals;
    }

    public static Arm64FunctionKeys Of(AnalysisContext context) => context.Get(Key);

    public string KeyOf(Arm64RuntimeFunction entry)
    {
        if (_context.Image.Exports.NameOf(entry.BeginAddress) is { } name)
        {
            return name;
        }

        var i = entry.Index;
        return (uint)i < (uint)_ordinals.Length ? $"arm64:{_sections[i]?.Name ?? "?"}#{_ordinals[i]}" : $"arm64:entry#{i}";
    }

    private static Arm64FunctionKeys Build(AnalysisContext context)
    {
        var functions = context.Image.Arm64Exceptions.Table.Functions;
        var sections = new SectionInfo?[functions.Count];
        var ordinals = new int[functions.Count];
        SectionInfo? previous = null;
        var ordinal = 0;
        for (var i = 0; i < functions.Count; i++)
        {
            var section = context.Image.Map.FindSection(functions[i].BeginAddress);
            ordinal = i > 0 && section == previous ? ordinal + 1 : 0;
            previous = section;
            sections[i] = section;
            ordinals[i] = ordinal;
        }

        return new Arm64FunctionKeys(context, sections, ordinals);
    }
}
