using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Turns the paths a user gave into scan inputs: files as they are (explicit), folders walked
/// recursively in ordinal order (implicit: non-PE files are skipped quietly), simple globs in the
/// last path segment (<c>bin/*.dll</c>) or <c>**</c> for any depth. Symbolic links to folders are
/// followed once: a loop is cut at the first folder seen again.
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
            if (path.Contains('*', StringComparison.Ordinal) || path.Contains('?', StringComparison.Ordinal))
            {
                var before = inputs.Count;
                ExpandGlob(path, inputs, seen, notifications);
                if (inputs.Count == before)
                {
                    notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Error, $"{path}: no file matches", path));
                }
            }
            else if (Directory.Exists(path))
            {
                Walk(path, inputs, seen, new HashSet<string>(StringComparer.Ordinal), notifications, "*");
            }
            else if (File.Exists(path))
            {
                if (seen.Add(Path.GetFullPath(path)))
                {
                    inputs.Add(new ScanInput(path, Explicit: true));
                }
            }
            else
            {
                notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Error, $"{path}: no such file or directory", path));
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
        if (!Directory.Exists(root))
        {
            return;
        }

        if (recursive)
        {
            // Matches found while walking are explicit: the user asked for files of that name.
            Walk(root, inputs, seen, new HashSet<string>(StringComparer.Ordinal), notifications, filePattern);
            return;
        }

        foreach (var file in SafeFiles(root, filePattern, notifications).Order(StringComparer.Ordinal))
        {
            if (seen.Add(Path.GetFullPath(file)))
            {
                inputs.Add(new ScanInput(file, Explicit: false));
            }
        }
    }

    private static void Walk(string root, List<ScanInput> inputs, HashSet<string> seen, HashSet<string> visitedDirs, List<ToolNotification> notifications, string filePattern)
    {
        var stack = new Stack<string>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            string real;
            try
            {
                real = new DirectoryInfo(dir).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(dir);
            }
            catch (IOException)
            {
                notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Warning, $"{dir}: cannot resolve the link (loop?); skipped", dir));
                continue;
            }

            if (!visitedDirs.Add(real))
            {
                continue;
            }

            foreach (var file in SafeFiles(dir, filePattern, notifications).Order(StringComparer.Ordinal))
            {
                if (seen.Add(Path.GetFullPath(file)))
                {
                    inputs.Add(new ScanInput(file, Explicit: false));
                }
            }

            string[] subdirs;
            try
            {
                subdirs = Directory.GetDirectories(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Warning, $"{dir}: cannot list the folder: {e.Message}", dir));
                continue;
            }

            // Reverse order on the stack so folders are visited in ordinal order.
            foreach (var sub in subdirs.Order(StringComparer.Ordinal).Reverse())
            {
                stack.Push(sub);
            }
        }
    }

    private static string[] SafeFiles(string dir, string pattern, List<ToolNotification> notifications)
    {
        try
        {
            return Directory.GetFiles(dir, pattern, new EnumerationOptions { MatchCasing = MatchCasing.PlatformDefault, IgnoreInaccessible = false, AttributesToSkip = 0 });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notifications.Add(new ToolNotification(ToolNotification.FileUnreadable, Level.Warning, $"{dir}: cannot list the folder: {e.Message}", dir));
            return [];
        }
    }
}
