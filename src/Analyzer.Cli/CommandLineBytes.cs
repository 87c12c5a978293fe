using Pelint.Pe.IO;

namespace Pelint.Cli;

/// <summary>
/// Linux passes arguments as bytes; .NET decodes them as UTF-8 and turns what is not UTF-8 into
/// U+FFFD, so a file named with such bytes could not be opened. An argument that came out with
/// U+FFFD is taken again from /proc/self/cmdline, its stray bytes kept as <see cref="HostFiles"/>
/// path characters.
/// </summary>
internal static class CommandLineBytes
{
    public static string[] Recover(string[] args)
    {
        if (!OperatingSystem.IsLinux() || !args.Any(a => a.Contains('\uFFFD', StringComparison.Ordinal)))
        {
            return args;
        }

        try
        {
            var raw = File.ReadAllBytes("/proc/self/cmdline");
            var all = new List<byte[]>();
            var start = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                if (raw[i] == 0)
                {
                    all.Add(raw[start..i]);
                    start = i + 1;
                }
            }

            if (all.Count < args.Length)
            {
                return args;
            }

            // The managed arguments are the last ones of the process's (after dotnet and the dll, or the apphost).
            var tail = all.Skip(all.Count - args.Length).ToList();
            var recovered = (string[])args.Clone();
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i].Contains('\uFFFD', StringComparison.Ordinal))
                {
                    // Only when it is the same argument, with U+FFFD where the raw bytes are.
                    if (System.Text.Encoding.UTF8.GetString(tail[i]) == args[i])
                    {
                        recovered[i] = HostFiles.FromBytes(tail[i]);
                    }
                }
            }

            return recovered;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return args;
        }
    }
}
