namespace Pelint.Pe.Headers;

/// <summary>Indices of the optional header's data directories (PE/COFF spec, "Optional Header Data Directories").</summary>
public enum DataDirectoryIndex
{
    Export = 0,
    Import = 1,
    Resource = 2,
    Exception = 3,
    Certificate = 4,
    BaseRelocation = 5,
    Debug = 6,
    Architecture = 7,
    GlobalPtr = 8,
    Tls = 9,
    LoadConfig = 10,
    BoundImport = 11,
    Iat = 12,
    DelayImport = 13,
    ClrRuntimeHeader = 14,
}

/// <summary>A data directory entry; <see cref="FileOffset"/> locates the entry itself in the optional header.</summary>
public readonly record struct DataDirectory(DataDirectoryIndex Index, uint Rva, uint Size, bool Declared, long FileOffset)
{
    /// <summary>Declared within NumberOfRvaAndSizes and non-empty.</summary>
    public bool IsPresent => Declared && Rva != 0 && Size != 0;
}
