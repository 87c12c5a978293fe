using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE5004: an x86 image does not both set NO_SEH and register safe exception handlers.</summary>
[Rule("PE5004")]
public sealed partial class NoSehWithHandlers : IRule
{
    public Applicability GetApplicability(PeImage image) => SafeSehFacts.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.SafeSeh;
        if (image.Has(DllCharacteristics.NoSeh) && table.HasFields && table.DeclaredCount > 0)
        {
            yield return Messages.Contradiction(ImageFacts.DllCharacteristicsField(image) with { Description = "optional header DllCharacteristics (NO_SEH)" },
                "no-seh-with-handlers", context.FileName, table.DeclaredCount, table.TableVa);
        }
    }
}
