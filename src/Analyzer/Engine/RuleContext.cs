using Pelint.Pe;

namespace Pelint.Engine;

/// <summary>What a rule gets to work with: the image and its own descriptor, plus finding helpers.</summary>
public sealed class RuleContext(PeImage image, RuleDescriptor descriptor, CancellationToken cancellation = default)
{
    public PeImage Image { get; } = image;

    public RuleDescriptor Descriptor { get; } = descriptor;

    public CancellationToken Cancellation { get; } = cancellation;

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
