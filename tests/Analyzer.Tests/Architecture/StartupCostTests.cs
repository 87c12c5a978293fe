using Pelint.Engine;
using Pelint.Pe;

namespace Pelint.Tests.Architecture;

/// <summary>
/// Keeps what every scan loads small: the platform's cryptography loads OpenSSL (libssl,
/// libcrypto, openssl.cnf) on first use, 5 ms and 4 MiB of every scan when fingerprints used it;
/// pelint's hashes go through <c>Pelint.Engine.Sha256</c>.
/// </summary>
public sealed class StartupCostTests
{
    [Fact]
    public void No_pelint_assembly_uses_the_platform_cryptography()
    {
        var uses = TypeUses.Read(typeof(PeImage).Assembly.Location).Concat(TypeUses.Read(typeof(RuleEngine).Assembly.Location));

        var crypto = uses.Where(u => u.UsedNamespace.StartsWith("System.Security.Cryptography", StringComparison.Ordinal)).Select(u => $"{u.User} uses {u.Used} ({u.Where})").ToList();

        Assert.True(crypto.Count == 0, string.Join('\n', crypto));
    }
}
