using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>
/// PE5002: the safe exception handler table is readable (inside the image and its section, a
/// count the file can hold) and strictly ascending, as the loader's binary search needs.
/// </summary>
[Rule("PE5002")]
public sealed partial class SafeSehTableRule : IRule
{
    public Applicability GetApplicability(PeImage image) => SafeSehFacts.WithTable(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.SafeSeh;
        foreach (var problem in table.Problems)
        {
            yield return Messages.Malformed(new FindingLocation(problem.FileOffset, problem.Length, problem.Rva, Description: "safe exception handler table"),
                $"malformed:{problem.Id}", context.FileName, problem.Message);
        }

        var handlers = table.Handlers;
        int? firstUnsorted = null, firstDuplicate = null;
        int unsorted = 0, duplicates = 0;
        for (var i = 1; i < handlers.Count; i++)
        {
            if (handlers[i] < handlers[i - 1])
            {
                firstUnsorted ??= i;
                unsorted++;
            }
            else if (handlers[i] == handlers[i - 1])
            {
                firstDuplicate ??= i;
                duplicates++;
            }
        }

        if (firstUnsorted is { } u)
        {
            yield return Messages.Unsorted(SafeSehFacts.Entry(image, u), "unsorted", context.FileName, u, handlers[u], handlers[u - 1], unsorted);
        }

        if (firstDuplicate is { } d)
        {
            yield return Messages.Duplicate(SafeSehFacts.Entry(image, d), "duplicate", context.FileName, handlers[d], d - 1, d, duplicates) with { Level = Level.Warning };
        }
    }
}
