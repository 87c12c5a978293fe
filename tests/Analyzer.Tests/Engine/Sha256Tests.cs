using System.Text;
using Pelint.Engine;

namespace Pelint.Tests.Engine;

/// <summary>The hash behind fingerprints, baselines and shards is SHA-256: the published vectors, and the BCL's (OpenSSL's) hash of every length around the block boundaries.</summary>
public sealed class Sha256Tests
{
    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void Gives_the_published_digests(string message, string digest)
    {
        Assert.Equal(digest, Convert.ToHexStringLower(Sha256.HashData(Encoding.ASCII.GetBytes(message))));
    }

    [Fact]
    public void Agrees_with_the_platform_hash_at_every_length_up_to_four_blocks_and_on_a_long_input()
    {
        var random = new Random(11);
        for (var length = 0; length <= 260; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.True(System.Security.Cryptography.SHA256.HashData(data).AsSpan().SequenceEqual(Sha256.HashData(data)), $"length {length}");
        }

        var large = new byte[1_000_003];
        random.NextBytes(large);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(large), Sha256.HashData(large));
    }

    [Fact]
    public void Writes_into_a_span_what_it_returns()
    {
        var data = Encoding.UTF8.GetBytes("bin/app.dll\0PE1001\0abc");
        Span<byte> into = stackalloc byte[40];
        into.Fill(0xAA);

        Sha256.HashData(data, into);

        Assert.True(into[..32].SequenceEqual(Sha256.HashData(data)));
        Assert.True(into[32..].SequenceEqual(new byte[] { 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA }));
    }
}
