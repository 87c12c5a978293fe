namespace Pelint.Pe.Exceptions;

/// <summary>How a language handler was recognised.</summary>
public enum HandlerEvidence
{
    /// <summary>Not recognised.</summary>
    Unknown,

    /// <summary>The handler RVA is an import address table slot of a named import.</summary>
    Import,

    /// <summary>The handler is a thunk `jmp qword [rip+disp32]` through a named import's IAT slot.</summary>
    ImportThunk,

    /// <summary>The image exports the handler under that name.</summary>
    Export,

    /// <summary>Statically linked CRT: every function naming it carries data that parses as a valid scope table.</summary>
    ScopeTableEvidence,
}

/// <summary>A language handler's name (when known) and how it was identified.</summary>
public sealed record HandlerIdentity(uint Rva, string? Name, HandlerEvidence Evidence, string? Detail = null)
{
    /// <summary>Handlers whose language data starts with a C SCOPE_TABLE.</summary>
    public bool UsesScopeTable => Name is "__C_specific_handler" or "__GSHandlerCheck_SEH" or "_C_specific_handler"
        || Evidence == HandlerEvidence.ScopeTableEvidence;

    public string Describe() => Evidence switch
    {
        HandlerEvidence.Import => $"{Name} (import)",
        HandlerEvidence.ImportThunk => $"{Name} (import thunk)",
        HandlerEvidence.Export => $"{Name} (export)",
        HandlerEvidence.ScopeTableEvidence => $"C-specific handler by evidence ({Detail})",
        _ => $"0x{Rva:X}",
    };
}
