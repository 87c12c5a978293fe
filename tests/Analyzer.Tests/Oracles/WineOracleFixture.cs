using Pelint.Testing;
using Pelint.Testing.Oracles;

namespace Pelint.Tests.Oracles;

/// <summary>
/// The oracle tests share one harness process per image and run one after another (they are in
/// one collection): the machine has two cores, and Wine starts are the expensive part.
/// </summary>
[CollectionDefinition(Name)]
public sealed class WineOracleCollection : ICollectionFixture<WineOracleFixture>
{
    public const string Name = "wine-oracle";
}

public sealed class WineOracleFixture : IDisposable
{
    private readonly Dictionary<string, WineUnwinder> _unwinders = new(StringComparer.Ordinal);

    /// <summary>Skips the calling test when the oracle cannot run here, or fails it when PELINT_REQUIRE_ORACLES=1.</summary>
    public static void RequireOracle()
    {
        if (WineOracle.UnavailableReason is not { } reason)
        {
            return;
        }

        if (WineOracle.Required)
        {
            throw new InvalidOperationException($"{WineOracle.RequireVariable}=1, but the Wine unwinder oracle cannot run: {reason}");
        }

        Skip.If(true, $"the Wine unwinder oracle cannot run: {reason} (with {WineOracle.RequireVariable}=1 this fails instead)");
    }

    /// <summary>The running harness for <paramref name="imagePath"/>, started on first use.</summary>
    public WineUnwinder For(string imagePath)
    {
        RequireOracle();
        var key = Path.GetFullPath(imagePath);
        lock (_unwinders)
        {
            if (!_unwinders.TryGetValue(key, out var unwinder))
            {
                // Generous, and a stall asked again: these images never hang, and a loaded CI machine
                // must not make them seem to.
                unwinder = WineUnwinder.Start(key, queryTimeout: TimeSpan.FromSeconds(5), retryStall: true);
                _unwinders[key] = unwinder;
            }

            return unwinder;
        }
    }

    public IReadOnlyCollection<WineUnwinder> Started
    {
        get
        {
            lock (_unwinders)
            {
                return [.. _unwinders.Values];
            }
        }
    }

    /// <summary>Writes a synthetic image under artifacts/oracles/images and returns its path.</summary>
    public static string SaveImage(string name, byte[] bytes)
    {
        var directory = Path.Combine(TestPaths.RepositoryRoot, "artifacts", "oracles", "images");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    public void Dispose()
    {
        lock (_unwinders)
        {
            foreach (var unwinder in _unwinders.Values)
            {
                unwinder.Dispose();
            }

            _unwinders.Clear();
        }
    }
}
