using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1004: a 64-bit image uses high-entropy ASLR, and only together with DYNAMIC_BASE.</summary>
[Rule("PE1004")]
public sealed partial class HighEntropyVa : IRule
{
    public Applicability GetApplicability(PeImage image) => ImageFacts.Pe32PlusNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var where = ImageFacts.DllCharacteristicsField(image);
        if (!image.Has(DllCharacteristics.HighEntropyVirtualAddressSpace))
        {
            // Same alert either way (one fingerprint key): only the consequence it states differs.
            yield return image.Has(DllCharacteristics.DynamicBase)
                ? Messages.Missing(where, "missing", context.FileName)
                : Messages.MissingBoth(where, "missing", context.FileName);
        }
        else if (!image.Has(DllCharacteristics.DynamicBase))
        {
            yield return Messages.WithoutDynamicBase(where, "without-dynamic-base", context.FileName);
        }
    }
}
