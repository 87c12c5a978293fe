using System.Reflection.PortableExecutable;
using Pelint.Analysis.Functions;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>What the exception-data rules share: applicability, function naming and locations.</summary>
internal static class UnwindFacts
{
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
}
