using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.LoadConfig;

namespace Pelint.Rules;

/// <summary>PE1007: Control Flow Guard is on and backed by the load config's guard data.</summary>
[Rule("PE1007")]
public sealed partial class ControlFlowGuard : IRule
{
    public Applicability GetApplicability(PeImage image) => Applicability.ForNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (!image.Has(DllCharacteristics.ControlFlowGuard))
        {
            yield return Messages.Missing(ImageFacts.DllCharacteristicsField(image), "missing", context.FileName);
            yield break;
        }

        var config = image.LoadConfig;
        var where = new FindingLocation(config.FileOffset ?? config.Directory.FileOffset, config.FileOffset is null ? 8 : (int)Math.Min(config.Size, 0x200u),
            config.Directory.Rva, Description: "load configuration");
        if (!config.IsPresent)
        {
            yield return Messages.NoLoadConfig(new FindingLocation(config.Directory.FileOffset, 8, Description: "load config data directory"),
                "no-load-config", context.FileName);
            yield break;
        }

        foreach (var problem in config.Problems)
        {
            yield return Messages.MalformedLoadConfig(new FindingLocation(problem.FileOffset, problem.Length, problem.Rva, Description: "load configuration"),
                $"malformed:{problem.Id}", context.FileName, problem.Message);
        }

        var flags = config.GuardFlags ?? GuardFlags.None;
        var hasTable = config.GuardCFFunctionTable is > 0 || (flags & GuardFlags.CfFunctionTablePresent) != 0;
        var instrumented = (flags & GuardFlags.CfInstrumented) != 0 || config.GuardCFCheckFunctionPointer is > 0;
        if (!hasTable || !instrumented)
        {
            var table = config.GuardCFFunctionTable is { } t ? $"0x{t:X}" : "absent";
            yield return Messages.NoTable(where, "no-table", context.FileName, table, (uint)flags);
        }
    }
}
