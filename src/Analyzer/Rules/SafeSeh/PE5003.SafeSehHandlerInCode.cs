using System.Globalization;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE5003: every handler the safe exception handler table lists lies inside an executable section.</summary>
[Rule("PE5003")]
public sealed partial class SafeSehHandlerInCode : IRule
{
    public Applicability GetApplicability(PeImage image) => SafeSehFacts.WithTable(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var handlers = image.SafeSeh.Handlers;
        for (var i = 0; i < handlers.Count; i++)
        {
            var rva = handlers[i];
            var section = image.Map.FindSection(rva);
            if (section is { IsMemExecute: true })
            {
                continue;
            }

            if (context.IsPastCap)
            {
                yield return Finding.PastCap;
                continue;
            }

            var where = section is not null ? $"inside section '{section.Name}', which is not executable"
                : rva >= image.Map.SizeOfImage ? string.Create(CultureInfo.InvariantCulture, $"outside the image (SizeOfImage 0x{image.Map.SizeOfImage:X})")
                : "outside every section";
            yield return Messages.OutsideCode(SafeSehFacts.Entry(image, i), $"entry#{i}:{section?.Name ?? "none"}", context.FileName, i, rva, where);
        }
    }
}
