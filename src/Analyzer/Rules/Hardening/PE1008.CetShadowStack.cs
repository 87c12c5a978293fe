using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Debug;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>PE1008: the image is marked compatible with CET shadow stacks.</summary>
[Rule("PE1008")]
public sealed partial class CetShadowStack : IRule
{
    public Applicability GetApplicability(PeImage image) =>
        image.Machine is Machine.Amd64 or Machine.I386
            ? Applicability.ForNativeCode(image)
            : Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: CET shadow stacks are an x86/x64 feature");

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var debug = context.Image.Debug;
        if (debug.ExDllCharacteristics is not { } ex)
        {
            yield return Messages.Missing(new FindingLocation(debug.Directory.FileOffset, 8, Description: "debug data directory"),
                "missing", context.FileName);
        }
        else if ((ex & ExDllCharacteristics.CetCompat) == 0)
        {
            var entry = debug.Entries.First(e => e.Type == DebugEntry.ExDllCharacteristics);
            yield return Messages.FlagClear(new FindingLocation(entry.FileOffset, DebugDirectory.EntrySize, Description: "extended DLL characteristics debug entry"),
                "flag-clear", context.FileName, (uint)ex);
        }
    }
}
