namespace Pelint.Sarif;

/// <summary>
/// Artifact URIs as GitHub code scanning wants them: relative to %SRCROOT% when the file is under
/// the source root, else an absolute file: URI.
/// </summary>
public sealed class ArtifactUris(string sourceRoot)
{
    public const string SourceRootId = "%SRCROOT%";

    public string SourceRoot { get; } = Path.GetFullPath(sourceRoot);

    /// <summary>The source root as an absolute file URI ending in a slash (SARIF §3.14.14).</summary>
    public string SourceRootUri => ToFileUri(SourceRoot.EndsWith('/') ? SourceRoot : SourceRoot + "/");

    public ArtifactLocation LocationOf(string path, int? index = null)
    {
        var full = Path.GetFullPath(path);
        var relative = Path.GetRelativePath(SourceRoot, full);
        if (!Path.IsPathRooted(relative) && relative != ".." && !relative.StartsWith("../", StringComparison.Ordinal) && !relative.StartsWith("..\\", StringComparison.Ordinal))
        {
            return new ArtifactLocation { Uri = EscapeSegments(relative.Replace('\\', '/')), UriBaseId = SourceRootId, Index = index };
        }

        return new ArtifactLocation { Uri = ToFileUri(full), Index = index };
    }

    private static string ToFileUri(string fullPath)
    {
        var path = fullPath.Replace('\\', '/');
        if (!path.StartsWith('/'))
        {
            path = "/" + path;
        }

        return "file://" + EscapeSegments(path);
    }

    private static string EscapeSegments(string path) =>
        string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
}
