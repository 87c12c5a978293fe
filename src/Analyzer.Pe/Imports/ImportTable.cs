using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.Imports;

/// <summary>One imported function: by name or by ordinal, and the RVA of its IAT slot.</summary>
public sealed record ImportedFunction(string Dll, string? Name, ushort? Ordinal, uint IatSlotRva)
{
    public string DisplayName => Name ?? $"#{Ordinal}";
}

/// <summary>
/// The import directory: DLL names and their functions with IAT slots (so code that jumps
/// through an IAT slot can be resolved to the function's name). Walks are capped so a
/// descriptor list without a terminator cannot run away.
/// </summary>
public sealed class ImportTable
{
    public const int MaxDescriptors = 4096;
    public const int MaxFunctionsPerDll = 65536;
    private const int DescriptorSize = 20;
    private const int MaxNameLength = 512;

    private readonly Dictionary<uint, ImportedFunction> _bySlot;

    private ImportTable(DataDirectory directory, IReadOnlyList<ImportedFunction> functions, IReadOnlyList<string> dlls, IReadOnlyList<PeProblem> problems)
    {
        Directory = directory;
        Functions = functions;
        Dlls = dlls;
        Problems = problems;
        _bySlot = new Dictionary<uint, ImportedFunction>(functions.Count);
        foreach (var f in functions)
        {
            _bySlot.TryAdd(f.IatSlotRva, f);
        }
    }

    public DataDirectory Directory { get; }

    public IReadOnlyList<ImportedFunction> Functions { get; }

    public IReadOnlyList<string> Dlls { get; }

    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>The import whose IAT slot is at <paramref name="rva"/>, if any.</summary>
    public ImportedFunction? FindBySlot(uint rva) => _bySlot.GetValueOrDefault(rva);

    public static ImportTable Read(PeImage image)
    {
        var dir = image.GetDirectory(DataDirectoryIndex.Import);
        var functions = new List<ImportedFunction>();
        var dlls = new List<string>();
        var problems = new List<PeProblem>();
        if (!dir.IsPresent)
        {
            return new ImportTable(dir, functions, dlls, problems);
        }

        var is64 = image.IsPe32Plus;
        var thunkSize = is64 ? 8 : 4;
        var ordinalFlag = is64 ? 0x8000_0000_0000_0000UL : 0x8000_0000UL;
        using var reader = image.OpenReader();
        Span<byte> scratch = stackalloc byte[DescriptorSize];
        Span<byte> thunkBytes = stackalloc byte[8];
        for (var i = 0; ; i++)
        {
            if (i == MaxDescriptors)
            {
                problems.Add(new PeProblem(PeStructure.Imports, ProblemCode.ImportTooManyDescriptors,
                    $"the import directory has no terminator within {MaxDescriptors} descriptors", dir.Rva, dir.FileOffset, 8));
                break;
            }

            var rva = dir.Rva + (uint)(i * DescriptorSize);
            if (!reader.TryRead(rva, DescriptorSize, scratch, out var d))
            {
                problems.Add(new PeProblem(PeStructure.Imports, ProblemCode.ImportDescriptorUnmapped,
                    $"import descriptor {i} at RVA 0x{rva:X} is outside the image's sections", rva, image.FileOffsetOf(rva)));
                break;
            }

            SpanRead.TryUInt32(d, 0, out var lookupRva);
            SpanRead.TryUInt32(d, 12, out var nameRva);
            SpanRead.TryUInt32(d, 16, out var iatRva);
            if (lookupRva == 0 && nameRva == 0 && iatRva == 0)
            {
                break;
            }

            if (!reader.TryReadAsciiZ(nameRva, MaxNameLength, out var dll))
            {
                problems.Add(new PeProblem(PeStructure.Imports, ProblemCode.ImportBadDllName,
                    $"import descriptor {i} names its DLL at RVA 0x{nameRva:X}, which is not a readable string", rva, image.FileOffsetOf(rva), DescriptorSize));
                continue;
            }

            dlls.Add(dll);
            var thunks = lookupRva != 0 ? lookupRva : iatRva;
            for (var j = 0; j < MaxFunctionsPerDll; j++)
            {
                var thunkRva = thunks + (uint)(j * thunkSize);
                if (!reader.TryRead(thunkRva, thunkSize, thunkBytes, out var t))
                {
                    problems.Add(new PeProblem(PeStructure.Imports, ProblemCode.ImportThunkUnmapped,
                        $"the lookup table of {dll} runs out of the image at RVA 0x{thunkRva:X}", thunkRva, null));
                    break;
                }

                var value = is64 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(t) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(t);
                if (value == 0)
                {
                    break;
                }

                var slot = iatRva + (uint)(j * thunkSize);
                if ((value & ordinalFlag) != 0)
                {
                    functions.Add(new ImportedFunction(dll, null, (ushort)value, slot));
                }
                else if (value <= uint.MaxValue && reader.TryReadAsciiZ((uint)value + 2, MaxNameLength, out var name))
                {
                    functions.Add(new ImportedFunction(dll, name, null, slot));
                }
                else
                {
                    problems.Add(new PeProblem(PeStructure.Imports, ProblemCode.ImportBadHintName,
                        $"import {j} of {dll} points at 0x{value:X}, which is not a readable hint/name entry", thunkRva, image.FileOffsetOf(thunkRva), thunkSize));
                }
            }
        }

        return new ImportTable(dir, functions, dlls, problems);
    }
}
