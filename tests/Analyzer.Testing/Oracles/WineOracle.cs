using System.Diagnostics;

namespace Pelint.Testing.Oracles;

/// <summary>
/// The environment of the Wine-hosted unwinder oracle: finds wine and the mingw-w64 compiler,
/// builds the harness (tests/oracles/winunwind) into artifacts/oracles, and creates the private
/// Wine prefix there once (the first start of Wine in a new prefix takes seconds and writes
/// hundreds of MB; later starts reuse it). Every step is serialized across threads and processes.
/// </summary>
public static class WineOracle
{
    /// <summary>When this variable is "1" (CI sets it), tests that need the oracle fail instead of being skipped.</summary>
    public const string RequireVariable = "PELINT_REQUIRE_ORACLES";

    private const string Compiler = "x86_64-w64-mingw32-gcc";
    private static readonly object Gate = new();
    // PELINT_WINE names another wine launcher; a name that does not exist makes the oracle unavailable.
    private static readonly Lazy<string?> WinePath = new(() => Environment.GetEnvironmentVariable("PELINT_WINE") is { Length: > 0 } wine
        ? (File.Exists(wine) ? wine : null)
        : FindOnPath("wine"));
    private static readonly string[] HarnessSources = ["winunwind.c", "build.sh"];
    private static bool _ready;

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    public static string SourceDirectory => Path.Combine(TestPaths.RepositoryRoot, "tests", "oracles", "winunwind");

    public static string ArtifactsDirectory => Path.Combine(TestPaths.RepositoryRoot, "artifacts", "oracles");

    public static string HarnessPath => Path.Combine(ArtifactsDirectory, "winunwind", "winunwind.exe");

    /// <summary>The private WINEPREFIX: artifacts/oracles/wineprefix, or PELINT_WINEPREFIX.</summary>
    public static string PrefixPath => Environment.GetEnvironmentVariable("PELINT_WINEPREFIX") is { Length: > 0 } prefix
        ? prefix
        : Path.Combine(ArtifactsDirectory, "wineprefix");

    /// <summary>How long creating the prefix took, when this process created it (the first start of Wine).</summary>
    public static TimeSpan? PrefixCreationTime { get; private set; }

    /// <summary>Null when the oracle can run here; otherwise what is missing, with the Debian package that brings it.</summary>
    public static string? UnavailableReason
    {
        get
        {
            if (WinePath.Value is null)
            {
                return "wine is not installed (Debian packages wine and wine64)";
            }

            if (!HarnessIsFresh() && FindOnPath(Compiler) is null)
            {
                return $"{Compiler} is not installed, and the harness is not built (Debian package gcc-mingw-w64-x86-64)";
            }

            return FindOnPath("bash") is null && !HarnessIsFresh() ? "bash is needed to build the harness" : null;
        }
    }

    /// <summary>Windows path of a file for Wine's Z: drive (the root of the Unix file system).</summary>
    public static string ToWindowsPath(string path) => "Z:" + Path.GetFullPath(path).Replace('/', '\\');

    /// <summary>Builds the harness if it is missing or older than its source, and creates the prefix if it does not exist.</summary>
    public static void EnsureReady()
    {
        lock (Gate)
        {
            if (_ready)
            {
                return;
            }

            if (UnavailableReason is { } reason)
            {
                throw new InvalidOperationException("the Wine unwinder oracle cannot run: " + reason);
            }

            Directory.CreateDirectory(ArtifactsDirectory);
            using (CrossProcessLock(Path.Combine(ArtifactsDirectory, "winunwind.lock")))
            {
                if (!HarnessIsFresh())
                {
                    Build();
                }

                if (!File.Exists(Path.Combine(PrefixPath, "system.reg")))
                {
                    CreatePrefix();
                }
            }

            _ready = true;
        }
    }

    /// <summary>A start of the harness (or of another Windows program) under Wine with the oracle's environment.</summary>
    public static ProcessStartInfo StartInfo(params string[] arguments)
    {
        var start = new ProcessStartInfo(WinePath.Value ?? "wine")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["WINEPREFIX"] = PrefixPath;
        start.Environment["WINEARCH"] = "win64";
        start.Environment["WINEDEBUG"] = "-all";
        // No Mono or Gecko installer when the prefix is created, and no window for anything.
        start.Environment["WINEDLLOVERRIDES"] = "mscoree,mshtml=";
        start.Environment.Remove("DISPLAY");
        start.Environment.Remove("WAYLAND_DISPLAY");
        return start;
    }

    private static bool HarnessIsFresh()
    {
        var exe = new FileInfo(HarnessPath);
        if (!exe.Exists)
        {
            return false;
        }

        return HarnessSources
            .Select(f => new FileInfo(Path.Combine(SourceDirectory, f)))
            .All(f => !f.Exists || f.LastWriteTimeUtc <= exe.LastWriteTimeUtc);
    }

    private static void Build()
    {
        var (code, output) = Run(new ProcessStartInfo("bash") { ArgumentList = { Path.Combine(SourceDirectory, "build.sh"), HarnessPath } }, TimeSpan.FromMinutes(2));
        if (code != 0 || !File.Exists(HarnessPath))
        {
            throw new InvalidOperationException($"building the winunwind harness failed (exit {code}):\n{output}");
        }
    }

    private static void CreatePrefix()
    {
        Directory.CreateDirectory(PrefixPath);
        var clock = Stopwatch.StartNew();
        var (code, output) = Run(StartInfo(ToWindowsPath(HarnessPath), "--version"), TimeSpan.FromMinutes(5));
        if (code != 0 || !output.Contains("winunwind", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the first start of Wine in {PrefixPath} failed (exit {code}):\n{output}");
        }

        PrefixCreationTime = clock.Elapsed;
    }

    private static (int Code, string Output) Run(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + start.FileName);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"timed out after {timeout.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static FileStream CrossProcessLock(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
