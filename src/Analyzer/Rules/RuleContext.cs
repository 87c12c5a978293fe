using Pelint.Analysis;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>What a rule gets to work with: the image with its analyses, and its own descriptor.</summary>
public sealed class RuleContext(AnalysisContext analysis, RuleDescriptor descriptor)
{
    /// <summary>The image under analysis and the analyses shared by every rule.</summary>
    public AnalysisContext Analysis { get; } = analysis;

    public PeImage Image => Analysis.Image;

    public RuleDescriptor Descriptor { get; } = descriptor;

    public CancellationToken Cancellation => Analysis.Cancellation;

    /// <summary>A finding of this rule with a message from its page and a place.</summary>
    public Finding Report(string messageId, FindingLocation location, string fingerprintKey, params string[] arguments)
    {
        if (!Descriptor.Messages.ContainsKey(messageId))
        {
            throw new InvalidOperationException($"{Descriptor.Id} has no message '{messageId}' in rules/{Descriptor.Id}.md");
        }

        return new Finding(Descriptor.Id, messageId, arguments, location, fingerprintKey);
    }

    /// <summary>The image's file name, the first argument of most messages.</summary>
    public string FileName => System.IO.Path.GetFileName(Image.Path);
}
