using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Analysis.Functions;

/// <summary>
/// Names and identities of an image's functions. A function's name is its export name, else its
/// public symbol in the image's matching PDB (<see cref="SymbolNames"/>, read on the first name
/// asked for), else <c>sub_RVA</c>. Its key survives a rebuild: the export name, else its ordinal
/// among the .pdata entries of its section (stable while the code before it does not change),
/// never its RVA. PDB names are not keys: whether a PDB was found beside the image is a fact of
/// the machine that scans, not of the image, and an alert must not change identity (be closed and
/// opened again) because one scan had the PDB and the next did not.
/// </summary>
public sealed class FunctionIdentity
{
    private static readonly AnalysisKey<FunctionIdentity> Key = new("function-identity", Build);

    private readonly PeImage _image;
    private readonly SectionInfo?[] _sections;
    private readonly int[] _ordinals;
    private readonly Lazy<SymbolNames> _symbols;

    private FunctionIdentity(PeImage image, SectionInfo?[] sections, int[] ordinals, Lazy<SymbolNames> symbols)
    {
        _image = image;
        _sections = sections;
        _ordinals = ordinals;
        _symbols = symbols;
    }

    public static FunctionIdentity Of(AnalysisContext context) => context.Get(Key);

    /// <summary>The function's name: its export name, else its PDB public symbol.</summary>
    public string? NameOf(uint rva) => _image.Exports.NameOf(rva) ?? _symbols.Value.NameOf(rva);

    /// <summary>The name, else <c>sub_RVA</c>.</summary>
    public string DisplayName(uint rva) => NameOf(rva) ?? $"sub_{rva:X}";

    /// <summary>"function 0x1234 (name)" for messages.</summary>
    public string Describe(RuntimeFunction function) =>
        NameOf(function.BeginAddress) is { } name ? $"function 0x{function.BeginAddress:X} ({name})" : $"function 0x{function.BeginAddress:X}";

    /// <summary>The key of the entry's function for fingerprints: export name, else section#ordinal.</summary>
    public string KeyOf(RuntimeFunction function)
    {
        if (_image.Exports.NameOf(function.BeginAddress) is { } name)
        {
            return name;
        }

        var index = function.Index;
        return (uint)index < (uint)_ordinals.Length ? $"{_sections[index]?.Name ?? "?"}#{_ordinals[index]}" : $"entry#{index}";
    }

    // Each entry's section and ordinal in it, in one pass; keys are formatted on demand.
    private static FunctionIdentity Build(AnalysisContext context)
    {
        var image = context.Image;
        var functions = image.ExceptionDirectory.Functions;
        var sections = new SectionInfo?[functions.Count];
        var ordinals = new int[functions.Count];
        SectionInfo? previous = null;
        var ordinal = 0;
        for (var i = 0; i < functions.Count; i++)
        {
            var section = image.Map.FindSection(functions[i].BeginAddress);
            ordinal = i > 0 && section == previous ? ordinal + 1 : 0;
            previous = section;
            sections[i] = section;
            ordinals[i] = ordinal;
        }

        return new FunctionIdentity(image, sections, ordinals, new Lazy<SymbolNames>(() => SymbolNames.Of(context)));
    }
}
