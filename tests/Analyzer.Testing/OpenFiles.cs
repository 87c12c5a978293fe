namespace Pelint.Testing;

/// <summary>Which files this process holds open (Linux: /proc/self/fd), to act on a file while a scan reads it.</summary>
public static class OpenFiles
{
    public static bool Supported => Directory.Exists("/proc/self/fd");

    /// <summary>Waits until some descriptor of this process refers to <paramref name="path"/>; false after <paramref name="timeout"/>.</summary>
    public static bool WaitUntilOpen(string path, TimeSpan timeout)
    {
        var full = Path.GetFullPath(path);
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget == full)
                    {
                        return true;
                    }
                }
                catch (IOException)
                {
                    // The descriptor closed while we looked.
                }
            }

            Thread.Sleep(1);
        }

        return false;
    }
}
