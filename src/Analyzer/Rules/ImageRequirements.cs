namespace Pelint.Rules;

/// <summary>
/// What the configuration requires of an image beyond rule levels: <see cref="HotPatchable"/>
/// (.editorconfig <c>pelint_hotpatch_required = true</c>) makes the hot-patch rules judge every
/// entry and report each one that falls short as an error, whatever the image's intent.
/// </summary>
public sealed record ImageRequirements(bool HotPatchable)
{
    public static readonly ImageRequirements None = new(false);
}
