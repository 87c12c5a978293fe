using BenchmarkDotNet.Attributes;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Testing;

namespace Pelint.Benchmarks;

/// <summary>The PE model's readers on real MSVC images: opening, .pdata, UNWIND_INFO, chains, scope tables.</summary>
[MemoryDiagnoser]
public class ReaderBenchmarks
{
    private byte[] _bytes = [];

    [Params("hostfxr.dll", "coreclr.dll")]
    public string File { get; set; } = "coreclr.dll";

    [GlobalSetup]
    public void Setup() => _bytes = System.IO.File.ReadAllBytes(TestPaths.RuntimeDll(File));

    [Benchmark(Description = "open: snapshot + headers + sections")]
    public int Open()
    {
        using var image = PeImage.Open(TestPaths.RuntimeDll(File)).Image!;
        return image.Sections.Count;
    }

    [Benchmark(Description = "exception directory + every UNWIND_INFO")]
    public int UnwindInfos()
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        var directory = image.ExceptionDirectory;
        var codes = 0;
        foreach (var f in directory.Functions)
        {
            codes += directory.UnwindInfoOf(f) is { } info ? info.Codes.Length : 0;
        }

        return codes;
    }

    [Benchmark(Description = "primary of every entry (chains)")]
    public int Primaries()
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        var directory = image.ExceptionDirectory;
        var primaries = 0;
        foreach (var f in directory.Functions)
        {
            primaries += directory.PrimaryOf(f) is { } p && p.Index == f.Index ? 1 : 0;
        }

        return primaries;
    }

    [Benchmark(Description = "language handlers + C scope tables")]
    public int ScopeTables()
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        return image.LanguageHandlers.ScopedFunctions().Sum(s => s.Table.Records.Count);
    }

    [Benchmark(Description = "relocations, load config, imports, exports")]
    public int Directories()
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        return image.BaseRelocations.BlockCount + image.Imports.Functions.Count + image.Exports.Functions.Count + (int)image.LoadConfig.Size;
    }
}
