using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Analysis.Functions;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>What the exception-data rules share: applicability, function naming and locations, result caps.</summary>
internal static class UnwindFacts
{
    /// <summary>A broken image can have thousands of bad entries; past this, one summary result per rule.</summary>
    public const int MaxFindingsPerImage = 50;

    public static Applicability ForX64ExceptionData(PeImage image)
    {
        if (image.Machine == Machine.Arm64)
        {
            // An ARM64X image's x64 entries are the CHPE extra table (ExceptionDirectory reads it).
            if (image.Chpe is null)
            {
                return Applicability.NotApplicable("machine is ARM64: its unwind data is checked by the ARM64 rules (PE4001-PE4007)");
            }
        }
        else if (image.Machine != Machine.Amd64)
        {
            return Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: only x64 unwind data is analyzed");
        }

        return image.ExceptionDirectory.IsPresent
            ? Applicability.Applicable
            : Applicability.NotApplicable(image.Machine == Machine.Arm64 ? "ARM64X image without an x64 function table (CHPE extra table)" : "no exception directory");
    }

    /// <summary>"function 0x1234 (name)" for messages.</summary>
    public static string Describe(RuleContext context, RuntimeFunction f) => FunctionIdentity.Of(context.Analysis).Describe(f);

    public static FindingLocation EntryLocation(RuleContext context, RuntimeFunction f, string? description = null) =>
        new(f.FileOffset, RuntimeFunction.Size, f.BeginAddress, FunctionIdentity.Of(context.Analysis).NameOf(f.BeginAddress), f.BeginAddress, description ?? "RUNTIME_FUNCTION entry");

    /// <summary>A function's identity that survives a rebuild (see <see cref="FunctionIdentity.KeyOf"/>).</summary>
    public static string FunctionKey(RuleContext context, RuntimeFunction f) => FunctionIdentity.Of(context.Analysis).KeyOf(f);

    public static string Path(IEnumerable<RuntimeFunction> path) => string.Join(" -> ", path.Select(p => $"0x{p.BeginAddress:X}"));

    /// <summary>Keeps the first <see cref="MaxFindingsPerImage"/> findings and adds one summary result for the rest.</summary>
    public static IEnumerable<Finding> Capped(RuleContext context, List<Finding> findings) =>
        FindingCap.Apply(context, findings, MaxFindingsPerImage,
            new FindingLocation(context.Image.ExceptionDirectory.Directory.FileOffset, 8, Description: "exception data directory"));

    public static string Hex(uint value) => value.ToString("X", CultureInfo.InvariantCulture);
}
