using System.Reflection.PortableExecutable;
using Pelint.Pe.Exceptions;
using Pelint.Testing;

namespace Pelint.Pe.Tests.Exceptions;

/// <summary>
/// <see cref="ExceptionDirectory.IsChainless"/> lets callers skip the chain walk: it must say yes
/// exactly when the walk is the entry alone and sound.
/// </summary>
public sealed class ChainlessTests
{
    [Fact]
    public void An_entry_is_chainless_exactly_when_its_chain_walk_is_the_entry_alone_and_sound()
    {
        var (chainless, chained) = (0, 0);
        foreach (var path in Directory.EnumerateFiles(TestPaths.RuntimePackNative, "*.dll").Order(StringComparer.Ordinal))
        {
            using var image = PeImage.Open(path).Image!;
            if (image.Machine != Machine.Amd64)
            {
                continue;
            }

            var directory = image.ExceptionDirectory;
            foreach (var entry in directory.Functions)
            {
                var walk = directory.WalkChain(entry);
                var alone = walk.IsSound && walk.Path.Count == 1 && walk.End == entry;
                Assert.True(alone == directory.IsChainless(entry), $"{Path.GetFileName(path)} entry {entry.Index} at 0x{entry.BeginAddress:X}");
                chainless += alone ? 1 : 0;
                chained += alone ? 0 : 1;
            }
        }

        // Both answers are exercised: MSVC chains the fragments it splits from large functions.
        Assert.True(chainless > 10_000 && chained > 100, $"{chainless} chainless, {chained} chained");
    }
}
