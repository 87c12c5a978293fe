using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>What the x64 exception-data rules share: applicability, naming a function, capping.</summary>
internal static class UnwindRuleSupport
{
    /// <summary>A broken image can yield thousands of results; past this many per rule, one summary result.</summary>
    public const int MaxFindingsPerImage = 100;

    public static Applicability X64WithExceptionDirectory(PeImage image)
    {
        if (image.Machine != Machine.Amd64)
        {
            return Applicability.NotApplicable("not an x64 image (x64 unwind data only)");
        }

        var native = Applicability.ForNativeCode(image);
        if (!native.IsApplicable)
        {
            return native;
        }

        return ExceptionDirectory.Of(image).IsPresent ? Applicability.Applicable : Applicability.NotApplicable("no exception directory");
    }

    /// <summary>"0x1234 (name)" or "0x1234": the function's begin RVA and its export name when there is one.</summary>
    public static string Describe(PeImage image, RuntimeFunction f) =>
        image.Exports.NameOf(f.BeginAddress) is { } name ? $"0x{f.BeginAddress:X} ({name})" : $"0x{f.BeginAddress:X}";

    public static FindingLocation Location(PeImage image, RuntimeFunction f, string description) =>
        new(f.FileOffset, RuntimeFunction.Size, f.BeginAddress, image.Exports.NameOf(f.BeginAddress) ?? $"sub_{f.BeginAddress:X}", f.BeginAddress, description);

    /// <summary>A stable key: the export name, else the entry's ordinal in the directory (survives a rebuild better than an RVA).</summary>
    public static string Key(PeImage image, RuntimeFunction f) =>
        image.Exports.NameOf(f.BeginAddress) is { } name ? $"fn:{name}" : $"entry:{f.Index.ToString(CultureInfo.InvariantCulture)}";

    public static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Keeps the first <see cref="MaxFindingsPerImage"/> findings and adds a "capped" summary.</summary>
    public static List<Finding> Cap(RuleContext context, List<Finding> findings)
    {
        if (findings.Count <= MaxFindingsPerImage)
        {
            return findings;
        }

        var dropped = findings.Count - MaxFindingsPerImage;
        findings.RemoveRange(MaxFindingsPerImage, dropped);
        var directory = ExceptionDirectory.Of(context.Image).Directory;
        findings.Add(context.Report("capped", new FindingLocation(directory.FileOffset, 8, Description: "exception directory"), "capped",
            context.FileName, Num(dropped), Num(MaxFindingsPerImage)));
        return findings;
    }
}
