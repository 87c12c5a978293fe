using Pelint.Pe;
using Pelint.Pe.Debug;
using Pelint.Pe.IO;
using Pelint.Pe.Pdb;

namespace Pelint.Analysis.Functions;

/// <summary>
/// Function names from the image's PDB: the public symbols (S_PUB32) of the PDB whose GUID and
/// age match the image's CodeView record, found beside the image or in a symbol folder
/// (<see cref="AnalysisSettings.SymbolDirectories"/>). A PDB that is found but does not match,
/// cannot be read, or whose addresses were rearranged after linking is not used, and a
/// <see cref="AnalysisNote"/> says so; no PDB at all is the common case and says nothing.
/// </summary>
public sealed class SymbolNames
{
    public static readonly SymbolNames None = new(new Dictionary<uint, string>(), null);

    private static readonly AnalysisKey<SymbolNames> Key = new("pdb-public-symbols", Build);

    private readonly Dictionary<uint, string> _names;

    private SymbolNames(Dictionary<uint, string> names, string? pdbPath)
    {
        _names = names;
        PdbPath = pdbPath;
    }

    /// <summary>The PDB the names come from; null when none was used.</summary>
    public string? PdbPath { get; }

    public int Count => _names.Count;

    public static SymbolNames Of(AnalysisContext context) => context.Get(Key);

    /// <summary>The public symbol at exactly this RVA in an executable section, if the PDB has one.</summary>
    public string? NameOf(uint rva) => _names.GetValueOrDefault(rva);

    private static SymbolNames Build(AnalysisContext context)
    {
        var image = context.Image;
        if (image.Debug.CodeView is not { } codeView)
        {
            return None;
        }

        var ignored = new List<string>();
        foreach (var candidate in SymbolLocator.Candidates(image.Path, codeView, context.SymbolDirectories))
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var opened = PdbFile.Open(candidate);
            using var pdb = opened.File;
            if (pdb is null)
            {
                ignored.Add($"{candidate} cannot be read as a PDB: {opened.Problem}");
                continue;
            }

            if (!pdb.Identity.Matches(codeView))
            {
                ignored.Add($"{candidate} does not match {Path.GetFileName(image.Path)} (the PDB is {pdb.Identity}, the image names {new PdbIdentity(codeView.UniqueId, codeView.Age)})");
                continue;
            }

            if (pdb.HasOmap)
            {
                ignored.Add($"{candidate} describes the code before a post-link optimizer rearranged it (OMAP), which pelint does not map");
                continue;
            }

            var publics = pdb.ReadPublics(image.Sections, context.Cancellation);
            if (publics.Problem is { } problem)
            {
                context.Note(new AnalysisNote($"{candidate}: {problem}; the public symbols read before it name functions"));
            }

            return new SymbolNames(CodeNames(image, publics.Symbols), candidate);
        }

        foreach (var reason in ignored)
        {
            context.Note(new AnalysisNote($"{reason}; its symbols are not used, functions are named from exports or as sub_RVA"));
        }

        return None;
    }

    // One name per code address: a symbol marked as a function wins, then the ordinal-first name,
    // so the choice among folded (ICF) functions does not depend on the record order.
    private static Dictionary<uint, string> CodeNames(PeImage image, IReadOnlyList<PdbPublicSymbol> symbols)
    {
        var names = new Dictionary<uint, (string Name, bool Function)>();
        foreach (var symbol in symbols)
        {
            if (image.Map.FindSection(symbol.Rva) is not { IsExecutable: true })
            {
                continue;
            }

            var isFunction = (symbol.Flags & PublicSymbolFlags.Function) != 0;
            if (!names.TryGetValue(symbol.Rva, out var held)
                || (isFunction && !held.Function)
                || (isFunction == held.Function && string.CompareOrdinal(symbol.Name, held.Name) < 0))
            {
                names[symbol.Rva] = (symbol.Name, isFunction);
            }
        }

        return names.ToDictionary(p => p.Key, p => p.Value.Name);
    }
}

/// <summary>Where an image's PDB may be: beside the image, then in each symbol folder (flat or in symbol-store layout).</summary>
public static class SymbolLocator
{
    private const int MaxFileNameLength = 255;

    /// <summary>Existing regular files that may be the image's PDB, each once, nearest first.</summary>
    public static IReadOnlyList<string> Candidates(string imagePath, CodeViewRecord codeView, IReadOnlyList<string> symbolDirectories)
    {
        ArgumentNullException.ThrowIfNull(codeView);
        ArgumentNullException.ThrowIfNull(symbolDirectories);
        var names = new List<string>();
        // The recorded name is the image's say; only a plain *.pdb file name is taken from it.
        if (IsPlainPdbName(codeView.PdbFileName))
        {
            names.Add(codeView.PdbFileName);
        }

        names.Add(Path.ChangeExtension(Path.GetFileName(imagePath), ".pdb"));
        var folder = Path.GetDirectoryName(Path.GetFullPath(imagePath)) ?? ".";
        var paths = new List<string>();
        foreach (var name in names)
        {
            paths.Add(Path.Combine(folder, name));
        }

        foreach (var directory in symbolDirectories)
        {
            foreach (var name in names)
            {
                paths.Add(Path.Combine(directory, name));
                paths.Add(Path.Combine(directory, name, codeView.SymbolStoreKey, name));
            }
        }

        return [.. paths.Distinct(StringComparer.Ordinal).Where(p => HostFiles.KindOf(p) == FileKind.Regular)];
    }

    private static bool IsPlainPdbName(string name) =>
        name.Length is > 4 and <= MaxFileNameLength
        && name.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase)
        && name.IndexOfAny(['/', '\\', '\0', ':']) < 0
        && name.Trim('.').Length > 0;
}
