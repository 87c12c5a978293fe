using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Analysis.Epilogs;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>PE3005: no instruction runs after a partial restore where the unwinder's forward scan sees no epilog.</summary>
public sealed class EpilogForm : IRule
{
    /// <summary>Per-epilog results past this many become one summary result.</summary>
    public const int MaxFindingsPerImage = 100;

    public string Id => "PE3005";

    public Applicability GetApplicability(PeImage image) => EpilogApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var broken = EpilogAnalysis.Of(context.Analysis).Epilogs.Where(e => e.Verdict == EpilogVerdict.Broken).ToList();
        var findings = new List<Finding>();
        foreach (var site in broken.Take(MaxFindingsPerImage))
        {
            findings.Add(context.Report("scheduled", EpilogApplicability.Where(image, site), $"{site.FunctionKey}:epilog{site.Ordinal}:scheduled",
                context.FileName, site.FunctionName, site.StartRva.ToString("X", CultureInfo.InvariantCulture), site.Scheduled ?? "?", (site.ScheduledRva ?? 0).ToString("X", CultureInfo.InvariantCulture), site.Bytes));
        }

        if (broken.Count > MaxFindingsPerImage)
        {
            findings.Add(context.Report("capped", FindingLocation.Image, "capped", context.FileName,
                (broken.Count - MaxFindingsPerImage).ToString(System.Globalization.CultureInfo.InvariantCulture),
                MaxFindingsPerImage.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return findings;
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
