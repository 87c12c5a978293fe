using System.Reflection;

namespace Pelint.Testing;

/// <summary>Where the test inputs are: the repository, its samples, the vendored corkami corpus, the runtime pack.</summary>
public static class TestPaths
{
    /// <summary>The runtime pack's version, written once: PelintRuntimePackVersion in Directory.Packages.props.</summary>
    public static string RuntimePackVersion { get; } =
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "PelintRuntimePackVersion")?.Value
        ?? throw new InvalidOperationException("PelintRuntimePackVersion (Directory.Packages.props) is not in Pelint.Testing's assembly metadata");

    /// <summary>The x86 runtime pack's version: PelintX86RuntimePackVersion in Directory.Packages.props.</summary>
    public static string X86RuntimePackVersion { get; } =
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "PelintX86RuntimePackVersion")?.Value
        ?? throw new InvalidOperationException("PelintX86RuntimePackVersion (Directory.Packages.props) is not in Pelint.Testing's assembly metadata");

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string SamplesBin => Path.Combine(RepositoryRoot, "samples", "bin");

    /// <summary>The corkami corpus vendored in the repository (BSD, see its NOTICE.md): a fresh clone carries it.</summary>
    public static string CorkamiCorpus => Path.Combine(RepositoryRoot, "tests", "fixtures", "corkami");

    public static string NuGetPackageRoot { get; } =
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>runtimes/win-x64/native of Microsoft.NETCore.App.Runtime.win-x64 (MSVC-built x64 DLLs).</summary>
    public static string RuntimePackNative =>
        Path.Combine(NuGetPackageRoot, "microsoft.netcore.app.runtime.win-x64", RuntimePackVersion, "runtimes", "win-x64", "native");

    /// <summary>
    /// biome.exe (79 MB, Rust, 200,000 functions) from npm's @biomejs/cli-win32-x64@2.5.15: PELINT_BIOME,
    /// else artifacts/bench/biome/package/biome.exe where benchmarks/compare.sh unpacks it; null when neither is there.
    /// </summary>
    public static string? BiomeExe =>
        new[] { Environment.GetEnvironmentVariable("PELINT_BIOME"), Path.Combine(RepositoryRoot, "artifacts", "bench", "biome", "package", "biome.exe") }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    /// <summary>runtimes/win-x86/native of Microsoft.NETCore.App.Runtime.win-x86 (MSVC-built x86 images, restored by the tests like the x64 pack).</summary>
    public static string X86RuntimePackNative =>
        Path.Combine(NuGetPackageRoot, "microsoft.netcore.app.runtime.win-x86", X86RuntimePackVersion, "runtimes", "win-x86", "native");

    /// <summary>bin/10.0.26100.0/x86 of Microsoft.Windows.SDK.BuildTools: x86 tools built hot-patchable (MSVC /hotpatch).</summary>
    public static string WindowsSdkX86Bin =>
        Path.Combine(NuGetPackageRoot, "microsoft.windows.sdk.buildtools", "10.0.26100.4654", "bin", "10.0.26100.0", "x86");

    /// <summary>An image of the x86 runtime pack; fails when restore has not fetched it.</summary>
    public static string X86RuntimeDll(string name)
    {
        var path = Path.Combine(X86RuntimePackNative, name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{name} not found in the x86 runtime pack; run 'dotnet restore' (PackageDownload of Microsoft.NETCore.App.Runtime.win-x86 {X86RuntimePackVersion})", path);
        }

        return path;
    }

    public static string RuntimeDll(string name)
    {
        var path = Path.Combine(RuntimePackNative, name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{name} not found in the runtime pack; run 'dotnet restore' (PackageDownload of Microsoft.NETCore.App.Runtime.win-x64 {RuntimePackVersion})", path);
        }

        return path;
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Analyzer.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Analyzer.sln not found above " + AppContext.BaseDirectory);
    }
}
