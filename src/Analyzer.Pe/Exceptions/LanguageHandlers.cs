using Pelint.Pe.Imports;
using Pelint.Pe.IO;

namespace Pelint.Pe.Exceptions;

/// <summary>How a language handler was recognised.</summary>
public enum HandlerEvidence
{
    Unknown,
    Import,
    ImportThunk,
    Export,
    ScopeTables,
}

/// <summary>A function whose language handler takes a C scope table, with that table.</summary>
public sealed record ScopedFunction(RuntimeFunction Function, HandlerIdentity Handler, uint TableRva, ScopeTable Table);

/// <summary>A language-specific handler, named where the image says (or shows) what it is.</summary>
public sealed record HandlerIdentity(uint Rva, string? Name, HandlerEvidence Evidence, string How)
{
    /// <summary>Handlers whose language data is a C SCOPE_TABLE.</summary>
    public bool UsesScopeTable => Name is "__C_specific_handler" or "_C_specific_handler" or "__C_specific_handler_noexcept" or "__GSHandlerCheck_SEH";
}

/// <summary>
/// Names each distinct handler RVA of the image: an export of that name, a thunk
/// (<c>jmp [rip+IAT]</c>) to an import of that name, or, for statically linked CRTs where the
/// handler is a plain function, the evidence of its users' data: when at least
/// <see cref="MinimumUsers"/> functions name it and nearly all of them carry data that parses as
/// a C scope table, it is taken for __C_specific_handler.
/// </summary>
public sealed class LanguageHandlers
{
    public const int MinimumUsers = 3;
    public const double MinimumShare = 0.9;

    private readonly Dictionary<uint, HandlerIdentity> _byRva;

    private readonly PeImage _image;

    private LanguageHandlers(PeImage image, Dictionary<uint, HandlerIdentity> byRva)
    {
        _image = image;
        _byRva = byRva;
    }

    public IReadOnlyCollection<HandlerIdentity> All => _byRva.Values;

    public HandlerIdentity? Identify(uint rva) => _byRva.GetValueOrDefault(rva);

    /// <summary>Every x64 function whose handler takes a C scope table (__C_specific_handler, __GSHandlerCheck_SEH), in directory order.</summary>
    public IEnumerable<ScopedFunction> ScopedFunctions()
    {
        var directory = _image.ExceptionDirectory;
        using var reader = _image.OpenReader();
        foreach (var f in directory.Functions)
        {
            if (!f.IsIndirect && directory.IsX64(f) && directory.UnwindInfoOf(f) is { HasHandler: true, HandlerRva: { } handler, LanguageDataRva: { } data }
                && Identify(handler) is { UsesScopeTable: true } identity)
            {
                yield return new ScopedFunction(f, identity, data, ScopeTable.Read(reader, data));
            }
        }
    }

    internal static LanguageHandlers Build(PeImage image)
    {
        var directory = image.ExceptionDirectory;
        var users = new Dictionary<uint, List<(RuntimeFunction Function, UnwindInfo Info)>>();
        foreach (var f in directory.Functions)
        {
            if (f.IsIndirect || !directory.IsX64(f) || directory.UnwindInfoOf(f) is not { HasHandler: true, HandlerRva: { } handler } info)
            {
                continue;
            }

            if (!users.TryGetValue(handler, out var list))
            {
                users[handler] = list = [];
            }

            list.Add((f, info));
        }

        var result = new Dictionary<uint, HandlerIdentity>();
        using var reader = image.OpenReader();
        foreach (var (rva, list) in users)
        {
            result[rva] = ByName(image, reader, rva) ?? ByEvidence(image, reader, rva, list) ?? new HandlerIdentity(rva, null, HandlerEvidence.Unknown, "not identified");
        }

        return new LanguageHandlers(image, result);
    }

    private static HandlerIdentity? ByName(PeImage image, ImageReader reader, uint rva)
    {
        if (image.Exports.NameOf(rva) is { } exported)
        {
            return new HandlerIdentity(rva, exported, HandlerEvidence.Export, "exported under that name");
        }

        // An import thunk: FF 25 disp32 (jmp qword [rip+disp32]), optionally with a REX.W prefix.
        if (reader.TryGetSpan(rva, 7, out var code) || reader.TryGetSpan(rva, 6, out code))
        {
            var skip = code[0] == 0x48 ? 1 : 0;
            if (code.Length >= skip + 6 && code[skip] == 0xFF && code[skip + 1] == 0x25)
            {
                var disp = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(code[(skip + 2)..]);
                var slot = (uint)(rva + skip + 6 + disp);
                if (image.Imports.FindBySlot(slot) is ImportedFunction import)
                {
                    return new HandlerIdentity(rva, import.Name, HandlerEvidence.ImportThunk, $"a thunk jumping through the import of {import.Dll}!{import.DisplayName}");
                }
            }
        }

        return null;
    }

    private static HandlerIdentity? ByEvidence(PeImage image, ImageReader reader, uint rva, List<(RuntimeFunction Function, UnwindInfo Info)> users)
    {
        if (users.Count < MinimumUsers)
        {
            return null;
        }

        var valid = 0;
        foreach (var (function, info) in users)
        {
            if (info.LanguageDataRva is { } data && LooksLikeScopeTable(image, ScopeTable.Read(reader, data)))
            {
                valid++;
            }
        }

        if (valid < users.Count * MinimumShare)
        {
            return null;
        }

        return new HandlerIdentity(rva, "__C_specific_handler", HandlerEvidence.ScopeTables,
            $"recognised by evidence: {valid} of its {users.Count} users carry data that parses as C scope tables");
    }

    // Structural plausibility only (the rule checks each record against its function).
    private static bool LooksLikeScopeTable(PeImage image, ScopeTable table)
    {
        if (table.Problem is not null || table.Count is 0 or > 256)
        {
            return false;
        }

        foreach (var r in table.Records)
        {
            if (r.BeginAddress >= r.EndAddress || !IsCode(image, r.BeginAddress) || !IsCode(image, r.EndAddress - 1))
            {
                return false;
            }

            if (r.HandlerAddress != 1 && !IsCode(image, r.HandlerAddress))
            {
                return false;
            }

            if (r.JumpTarget != 0 && !IsCode(image, r.JumpTarget))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsCode(PeImage image, uint rva) => image.Map.FindSection(rva) is { IsExecutable: true };
}
