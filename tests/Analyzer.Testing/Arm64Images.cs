namespace Pelint.Testing;

/// <summary>
/// Real ARM64 images from NuGet packages the tests restore (PackageDownload in
/// Analyzer.Testing.csproj), and ARM64 images from npm packages that CI fetches with
/// `npm pack` (.ci/run; PELINT_ARM64_NPM names the folder).
/// </summary>
public static class Arm64Images
{
    /// <summary>Environment variable naming the folder where .ci/run unpacked the npm win32-arm64 packages.</summary>
    public const string NpmFolderVariable = "PELINT_ARM64_NPM";

    /// <summary>A restored NuGet image: (short name, toolchain, path).</summary>
    public sealed record Image(string Name, string Toolchain, string Path)
    {
        public override string ToString() => Name;
    }

    private const string SdkArm64 = "microsoft.windows.sdk.buildtools/10.0.26100.4654/bin/10.0.26100.0/arm64";

    /// <summary>Plain ARM64 images from NuGet (MSVC, LLVM and Rust builds).</summary>
    public static IReadOnlyList<Image> NuGet { get; } =
    [
        Package("libSkiaSharp.dll", "LLVM (clang-cl, lld-link)", "skiasharp.nativeassets.win32/3.119.0/runtimes/win-arm64/native/libSkiaSharp.dll"),
        Package("libHarfBuzzSharp.dll", "MSVC", "harfbuzzsharp.nativeassets.win32/8.3.1.1/runtimes/win-arm64/native/libHarfBuzzSharp.dll"),
        Package("onnxruntime.dll", "MSVC", "microsoft.ml.onnxruntime/1.31.1/runtimes/win-arm64/native/onnxruntime.dll"),
        Package("onnxruntime_providers_shared.dll", "MSVC", "microsoft.ml.onnxruntime/1.31.1/runtimes/win-arm64/native/onnxruntime_providers_shared.dll"),
        Package("WebView2Loader.dll", "MSVC", "microsoft.web.webview2/1.0.4314.35/runtimes/win-arm64/native/WebView2Loader.dll"),
        Package("Microsoft.Web.WebView2.Core.dll", "MSVC", "microsoft.web.webview2/1.0.4314.35/runtimes/win-arm64/native_uap/Microsoft.Web.WebView2.Core.dll"),
        Package("e_sqlite3.dll", "MSVC", "sqlitepclraw.lib.e_sqlite3/3.53.3/runtimes/win-arm64/native/e_sqlite3.dll"),
        Package("libvips-42.dll", "LLVM (llvm-mingw)", "netvips.native.win-arm64/8.18.7/runtimes/win-arm64/native/libvips-42.dll"),
        Package("git2-5853918.dll", "MSVC", "libgit2sharp.nativebinaries/2.0.324/runtimes/win-arm64/native/git2-5853918.dll"),
        Package("wasmtime.dll", "Rust (rustc, MSVC linker)", "wasmtime/50.0.1/runtimes/win-arm64/native/wasmtime.dll"),
        Package("signtool.exe", "MSVC (Windows SDK)", SdkArm64 + "/signtool.exe"),
        Package("makeappx.exe", "MSVC (Windows SDK)", SdkArm64 + "/makeappx.exe"),
    ];

    /// <summary>ARM64X images (ARM64 header, CHPE metadata, x64 extra table) from the Windows SDK build tools.</summary>
    public static IReadOnlyList<Image> Arm64X { get; } =
    [
        Package("opcservices.dll", "MSVC (Windows SDK, ARM64X)", SdkArm64 + "/opcservices.dll"),
        Package("ServicingCommon.dll", "MSVC (Windows SDK, ARM64X)", SdkArm64 + "/ServicingCommon.dll"),
    ];

    /// <summary>npm packages .ci/run fetches (name@version, file inside package/, toolchain).</summary>
    public static IReadOnlyList<(string Package, string File, string Toolchain)> NpmPackages { get; } =
    [
        ("@biomejs/cli-win32-arm64@2.5.15", "biome.exe", "Rust"),
        ("@rollup/rollup-win32-arm64-msvc@4.67.4", "rollup.win32-arm64-msvc.node", "Rust (napi-rs)"),
        ("@swc/core-win32-arm64-msvc@1.16.18", "swc.win32-arm64-msvc.node", "Rust (napi-rs)"),
    ];

    /// <summary>The npm images present in <see cref="NpmFolderVariable"/>'s folder (none when it is unset).</summary>
    public static IReadOnlyList<Image> Npm()
    {
        var folder = Environment.GetEnvironmentVariable(NpmFolderVariable);
        if (string.IsNullOrEmpty(folder))
        {
            return [];
        }

        return [.. NpmPackages.Select(p => new Image(p.File, p.Toolchain, System.IO.Path.Combine(folder, p.File))).Where(i => File.Exists(i.Path))];
    }

    /// <summary>The ARM64EC vcruntime140_1.dll of @microsoft/sarif-multitool-linux 5.7.0 (arm64/ folder), when .ci/run or a developer installed it.</summary>
    public static string? SarifMultitoolVcruntime()
    {
        var candidates = new[]
        {
            Environment.GetEnvironmentVariable("PELINT_SARIF_MULTITOOL_DIR"),
            System.IO.Path.Combine(TestPaths.RepositoryRoot, "artifacts", "ci", "sarif-multitool"),
        };
        foreach (var dir in candidates.Where(d => !string.IsNullOrEmpty(d)))
        {
            var path = System.IO.Path.Combine(dir!, "node_modules", "@microsoft", "sarif-multitool-linux", "arm64", "vcruntime140_1.dll");
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static Image Package(string name, string toolchain, string relative) =>
        new(name, toolchain, System.IO.Path.Combine(TestPaths.NuGetPackageRoot, relative));
}
