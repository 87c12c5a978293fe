using System.Reflection.PortableExecutable;

namespace Pelint.Pe.Headers;

/// <summary>One section header, as written in the file (untrusted values kept verbatim).</summary>
public sealed record SectionInfo(
    int Index,
    string Name,
    uint VirtualAddress,
    uint VirtualSize,
    uint PointerToRawData,
    uint SizeOfRawData,
    SectionCharacteristics Characteristics,
    long HeaderFileOffset)
{
    public const int HeaderSize = 40;

    public bool IsExecutable => (Characteristics & (SectionCharacteristics.MemExecute | SectionCharacteristics.ContainsCode)) != 0;

    public bool IsMemExecute => (Characteristics & SectionCharacteristics.MemExecute) != 0;

    public bool IsWritable => (Characteristics & SectionCharacteristics.MemWrite) != 0;

    public bool IsShared => (Characteristics & SectionCharacteristics.MemShared) != 0;

    public bool IsDiscardable => (Characteristics & SectionCharacteristics.MemDiscardable) != 0;

    /// <summary>Size of the section in memory: VirtualSize, or SizeOfRawData when VirtualSize is 0 (old linkers).</summary>
    public uint MappedSize => VirtualSize != 0 ? VirtualSize : SizeOfRawData;

    public bool ContainsRva(uint rva) => rva >= VirtualAddress && (ulong)rva < (ulong)VirtualAddress + MappedSize;

    public override string ToString() => Name;
}
