using System.Reflection.PortableExecutable;

namespace Pelint.Pe.Headers;

/// <summary>Short names of COFF machine types for messages.</summary>
public static class MachineNames
{
    public static string Of(Machine machine) => machine switch
    {
        Machine.Amd64 => "x64",
        Machine.I386 => "x86",
        Machine.Arm64 => "ARM64",
        Machine.ArmThumb2 => "ARM",
        Machine.Arm => "ARM",
        Machine.IA64 => "IA64",
        _ => $"0x{(ushort)machine:X4}",
    };
}
