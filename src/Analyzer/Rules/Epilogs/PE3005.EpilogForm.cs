using System.Reflection.PortableExecutable;
using Pelint.Analysis.Epilogs;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>PE3005: no instruction runs after a partial restore where the unwinder's forward scan sees no epilog.</summary>
[Rule("PE3005")]
public sealed partial class EpilogForm : IRule
{
    public Applicability GetApplicability(PeImage image) => EpilogApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        foreach (var site in EpilogAnalysis.Of(context.Analysis).Epilogs)
        {
            if (site.Verdict == EpilogVerdict.Broken)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.Scheduled(EpilogApplicability.Where(image, site), $"{site.FunctionKey}:epilog{site.Ordinal}:scheduled",
                        context.FileName, site.FunctionName, site.StartRva, site.Scheduled ?? "?", site.ScheduledRva ?? 0, site.Bytes);
            }
        }
    }
}

/// <summary>What the epilog rules share: which images they apply to, and where a site is.</summary>
internal static class EpilogApplicability
{
    public static Applicability Of(PeImage image)
    {
        var native = Applicability.ForNativeCode(image);
        if (!native.IsApplicable)
        {
            return native;
        }

        if (image.Machine != Machine.Amd64)
        {
            return Applicability.NotApplicable($"x64 epilog rules; the image is {MachineNames.Of(image.Machine)}");
        }

        return image.ExceptionDirectory.IsPresent ? Applicability.Applicable : Applicability.NotApplicable("no exception directory (.pdata)");
    }

    public static FindingLocation Where(PeImage image, EpilogSite site) =>
        new(image.FileOffsetOf(site.StartRva), (int)(site.EndRva - site.StartRva), site.StartRva, site.FunctionName, site.Primary.BeginAddress,
            $"epilog {site.Ordinal} of {site.FunctionName}");
}
