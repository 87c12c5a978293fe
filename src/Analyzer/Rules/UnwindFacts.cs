using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>What the exception-data rules share: applicability, function naming and locations, result caps.</summary>
internal static class UnwindFacts
{
    /// <summary>A broken image can have thousands of bad entries; past this, one summary result per rule.</summary>
    public const int MaxFindingsPerImage = 50;

    public static Applicability ForX64ExceptionData(PeImage image)
    {
        if (image.Machine != Machine.Amd64)
        {
            return Applicability.NotApplicable(image.Machine == Machine.Arm64
                ? "machine is ARM64: ARM64 unwind data is not analyzed yet"
                : $"machine is {MachineNames.Of(image.Machine)}: only x64 unwind data is analyzed");
        }

        return ExceptionDirectory.Of(image).IsPresent
            ? Applicability.Applicable
            : Applicability.NotApplicable("no exception directory");
    }

    /// <summary>"function 0x1234 (name)" for messages.</summary>
    public static string Describe(PeImage image, RuntimeFunction f) =>
        image.Exports.NameOf(f.BeginAddress) is { } name ? $"function 0x{f.BeginAddress:X} ({name})" : $"function 0x{f.BeginAddress:X}";

    public static FindingLocation EntryLocation(PeImage image, RuntimeFunction f, string? description = null) =>
        new(f.FileOffset, RuntimeFunction.Size, f.BeginAddress, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, description ?? "RUNTIME_FUNCTION entry");

    /// <summary>
    /// A function's identity that survives a rebuild: its export name, else its ordinal among the
    /// entries of its section (stable while the code before it does not change), never its RVA.
    /// </summary>
    public static string FunctionKey(PeImage image, RuntimeFunction f)
    {
        if (image.Exports.NameOf(f.BeginAddress) is { } name)
        {
            return name;
        }

        var ordinals = image.GetView(SectionOrdinals.Build);
        return ordinals.KeyOf(f.Index);
    }

    /// <summary>Each entry's section and ordinal in it, computed once per image in one pass; keys are formatted on demand.</summary>
    private sealed class SectionOrdinals(Pe.Headers.SectionInfo?[] sections, int[] ordinals)
    {
        public string KeyOf(int index) =>
            (uint)index < (uint)ordinals.Length ? $"{sections[index]?.Name ?? "?"}#{ordinals[index]}" : $"entry#{index}";

        public static SectionOrdinals Build(PeImage image)
        {
            var functions = ExceptionDirectory.Of(image).Functions;
            var sections = new Pe.Headers.SectionInfo?[functions.Count];
            var ordinals = new int[functions.Count];
            Pe.Headers.SectionInfo? previous = null;
            var ordinal = 0;
            for (var i = 0; i < functions.Count; i++)
            {
                var section = image.Map.FindSection(functions[i].BeginAddress);
                ordinal = i > 0 && section == previous ? ordinal + 1 : 0;
                previous = section;
                sections[i] = section;
                ordinals[i] = ordinal;
            }

            return new SectionOrdinals(sections, ordinals);
        }
    }

    public static string Path(IEnumerable<RuntimeFunction> path) => string.Join(" -> ", path.Select(p => $"0x{p.BeginAddress:X}"));

    /// <summary>Keeps the first <see cref="MaxFindingsPerImage"/> findings and adds one summary result for the rest.</summary>
    public static IEnumerable<Finding> Capped(RuleContext context, List<Finding> findings) =>
        FindingCap.Apply(context, findings, MaxFindingsPerImage,
            new FindingLocation(ExceptionDirectory.Of(context.Image).Directory.FileOffset, 8, Description: "exception data directory"));

    public static string Hex(uint value) => value.ToString("X");
}
