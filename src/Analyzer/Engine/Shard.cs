using System.Buffers.Binary;
using System.Text;

using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Shard K of N (1-based): a file belongs to the shard picked by a hash of its path relative to a
/// base folder, with '/' separators. The share depends only on the path, never on the order or the
/// number of other inputs, so every machine of a CI matrix agrees without talking to the others.
/// </summary>
public sealed record Shard(int Index, int Count)
{
    public static bool TryParse(string? text, out Shard? shard, out string? error)
    {
        shard = null;
        error = null;
        var parts = text?.Split('/') ?? [];
        if (parts.Length != 2 || !int.TryParse(parts[0], out var k) || !int.TryParse(parts[1], out var n) || n < 1 || k < 1 || k > n)
        {
            error = $"--shard expects K/N with 1 <= K <= N (e.g. 2/4), not '{text}'";
            return false;
        }

        shard = new Shard(k, n);
        return true;
    }

    public bool Contains(string path, string baseDirectory)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(baseDirectory), Path.GetFullPath(path)).Replace('\\', '/');
        var hash = BinaryPrimitives.ReadUInt64LittleEndian(Sha256.HashData(Encoding.UTF8.GetBytes(relative)));
        return (int)(hash % (ulong)Count) == Index - 1;
    }

    public IReadOnlyList<ScanInput> Select(IReadOnlyList<ScanInput> inputs, string baseDirectory) =>
        [.. inputs.Where(i => Contains(i.Path, baseDirectory))];
}
