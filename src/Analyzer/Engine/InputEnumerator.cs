using System.IO.Enumeration;
using Pelint.Pe.IO;
using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Turns the paths a user gave into scan inputs: files as they are (explicit), folders walked
/// recursively in ordinal order (implicit: non-PE files are skipped quietly), simple globs in the
/// last path segment (<c>bin/*.dll</c>) or <c>**</c> for any depth. Only regular files become
/// inputs: a FIFO, device or socket in a folder is skipped, one named on the command line is
/// reported. Each folder is walked once, whatever links lead to it, so link loops end. Names that
/// are not UTF-8 are kept byte for byte (<see cref="HostFiles"/>).
/// </summary>
public static class InputEnumerator
{
    public sealed record Enumeration(IReadOnlyList<ScanInput> Inputs, IReadOnlyList<ToolNotification> Notifications);

    public static Enumeration Enumerate(IEnumerable<string> paths)
    {
        var inputs = new List<ScanInput>();
        var notifications = new List<ToolNotification>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            var kind = HostFiles.KindOf(path);
            if (kind == FileKind.Missing && (path.Contains('*', StringComparison.Ordinal) || path.Contains('?', StringComparison.Ordinal)))
            {
                var before = inputs.Count;
                ExpandGlob(path, inputs, seen, notifications);
                if (inputs.Count == before)
                {
                    notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Error, $"{path}: no file matches", path));
                }
            }
            else if (kind == FileKind.Directory)
            {
                Walk(path, inputs, seen, notifications, "*", explicitMatches: false);
            }
            else if (kind == FileKind.Regular)
            {
                if (seen.Add(Path.GetFullPath(path)))
                {
                    inputs.Add(new ScanInput(path, Explicit: true));
                }
            }
            else if (kind == FileKind.Missing)
            {
                notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Error, $"{path}: no such file or directory", path));
            }
            else
            {
                notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Error, $"{path} is {HostFiles.Describe(kind)}, not a regular file; not read", path));
            }
        }

        return new Enumeration(inputs, notifications);
    }

    private static void ExpandGlob(string pattern, List<ScanInput> inputs, HashSet<string> seen, List<ToolNotification> notifications)
    {
        var normalized = pattern.Replace('\\', '/');
        var recursive = normalized.Contains("**/", StringComparison.Ordinal);
        var cut = recursive ? normalized.IndexOf("**/", StringComparison.Ordinal) : normalized.LastIndexOf('/') + 1;
        var root = cut == 0 ? "." : normalized[..cut].TrimEnd('/');
        if (root.Length == 0)
        {
            root = "/";
        }

        var filePattern = normalized[(normalized.LastIndexOf('/') + 1)..];
        if (HostFiles.KindOf(root) != FileKind.Directory)
        {
            return;
        }

        if (recursive)
        {
            Walk(root, inputs, seen, notifications, filePattern, explicitMatches: false);
            return;
        }

        foreach (var (file, kind) in SafeList(root, notifications).OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            if (kind == FileKind.Regular && Matches(file, filePattern) && seen.Add(Path.GetFullPath(file)))
            {
                inputs.Add(new ScanInput(file, Explicit: false));
            }
        }
    }

    private static void Walk(string root, List<ScanInput> inputs, HashSet<string> seen, List<ToolNotification> notifications, string filePattern, bool explicitMatches)
    {
        var visited = new HashSet<(ulong, ulong)>();
        var visitedPaths = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            var fresh = HostFiles.IdentityOf(dir) is { } id ? visited.Add(id) : visitedPaths.Add(RealPath(dir));
            if (!fresh)
            {
                continue;
            }

            var entries = SafeList(dir, notifications).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
            foreach (var (file, kind) in entries)
            {
                // FIFOs, devices and sockets found in a folder are not inputs; dangling links neither.
                if (kind == FileKind.Regular && Matches(file, filePattern) && seen.Add(Path.GetFullPath(file)))
                {
                    inputs.Add(new ScanInput(file, explicitMatches));
                }
            }

            // Reverse order on the stack so folders are visited in ordinal order.
            foreach (var (sub, _) in entries.Where(e => e.Kind == FileKind.Directory).Reverse())
            {
                stack.Push(sub);
            }
        }
    }

    private static bool Matches(string path, string pattern) =>
        pattern == "*" || FileSystemName.MatchesSimpleExpression(pattern, Path.GetFileName(path), ignoreCase: !OperatingSystem.IsLinux());

    private static string RealPath(string dir)
    {
        try
        {
            return new DirectoryInfo(dir).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(dir);
        }
        catch (IOException)
        {
            return Path.GetFullPath(dir);
        }
    }

    private static IReadOnlyList<(string Path, FileKind Kind)> SafeList(string dir, List<ToolNotification> notifications)
    {
        try
        {
            return HostFiles.List(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Warning, $"{dir}: cannot list the folder: {e.Message}", dir));
            return [];
        }
    }
}
