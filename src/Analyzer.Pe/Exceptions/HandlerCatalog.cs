using Pelint.Pe.IO;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// Identifies the language handlers named by an image's UNWIND_INFOs: through imports, import
/// thunks and exports, and for statically linked CRTs (no import to go by) from evidence: a
/// handler all of whose users carry language data that parses as a valid scope table whose
/// records lie inside the function is treated as a C-specific handler.
/// </summary>
public sealed class HandlerCatalog
{
    /// <summary>Fewer users than this is too little evidence to call a plain function a C-specific handler.</summary>
    public const int MinEvidenceUsers = 3;

    private readonly Dictionary<uint, HandlerIdentity> _byRva;

    private HandlerCatalog(Dictionary<uint, HandlerIdentity> byRva)
    {
        _byRva = byRva;
    }

    public static HandlerCatalog Of(PeImage image) => image.GetView(Build);

    public IReadOnlyCollection<HandlerIdentity> Handlers => _byRva.Values;

    public HandlerIdentity Identify(uint rva) => _byRva.TryGetValue(rva, out var h) ? h : new HandlerIdentity(rva, null, HandlerEvidence.Unknown);

    /// <summary>Identifies one RVA by name only (imports, thunks, exports).</summary>
    public static HandlerIdentity IdentifyByName(PeImage image, uint rva)
    {
        if (image.Imports.FindBySlot(rva) is { } slot)
        {
            return new HandlerIdentity(rva, slot.DisplayName, HandlerEvidence.Import, slot.Dll);
        }

        if (image.TryGetSpan(rva, 6, out var code) && code[0] == 0xFF && code[1] == 0x25 && SpanRead.TryUInt32(code, 2, out var disp))
        {
            var target = (uint)(rva + 6 + (int)disp);
            if (image.Imports.FindBySlot(target) is { } thunk)
            {
                return new HandlerIdentity(rva, thunk.DisplayName, HandlerEvidence.ImportThunk, thunk.Dll);
            }
        }

        if (image.Exports.NameOf(rva) is { } name)
        {
            return new HandlerIdentity(rva, name, HandlerEvidence.Export);
        }

        return new HandlerIdentity(rva, null, HandlerEvidence.Unknown);
    }

    private static HandlerCatalog Build(PeImage image)
    {
        var directory = ExceptionDirectory.Of(image);
        var users = new Dictionary<uint, List<(RuntimeFunction Entry, UnwindInfo Info)>>();
        foreach (var f in directory.Functions)
        {
            if (f.IsIndirect || !directory.IsX64(f))
            {
                continue;
            }

            var info = directory.GetUnwindInfo(f);
            if (info.HandlerRva is { } h && info.LanguageDataRva is not null)
            {
                if (!users.TryGetValue(h, out var list))
                {
                    users[h] = list = [];
                }

                list.Add((f, info));
            }
        }

        var result = new Dictionary<uint, HandlerIdentity>(users.Count);
        foreach (var (rva, list) in users)
        {
            var named = IdentifyByName(image, rva);
            if (named.Evidence != HandlerEvidence.Unknown)
            {
                result[rva] = named;
                continue;
            }

            var parsed = 0;
            var nonEmpty = 0;
            foreach (var (entry, info) in list)
            {
                var table = ScopeTable.Read(image, info.LanguageDataRva!.Value);
                if (!table.IsValid || table.Count == 0 || !table.Records.All(r => r.BeginAddress < r.EndAddress && r.BeginAddress >= entry.BeginAddress && r.EndAddress <= entry.EndAddress + 1 && r.HandlerAddress != 0))
                {
                    break;
                }

                parsed++;
                nonEmpty++;
            }

            result[rva] = parsed == list.Count && nonEmpty >= MinEvidenceUsers
                ? new HandlerIdentity(rva, null, HandlerEvidence.ScopeTableEvidence, $"all {list.Count} functions naming it carry a valid scope table")
                : named;
        }

        return new HandlerCatalog(result);
    }
}
