using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Pe.Tests.Exceptions.Arm64;

/// <summary>
/// <see cref="Arm64UnwindRecord.EndingSequences"/> answers, for every code byte at once, what
/// <see cref="Arm64UnwindRecord.DecodeSequence"/> finds from that byte: an end code reached with
/// no code cut short.
/// </summary>
public sealed class Arm64SequenceTests
{
    [Fact]
    public void Ending_sequences_agree_with_decoding_from_every_byte_of_random_code_arrays()
    {
        var random = new Random(0x454E_4453); // "ENDS"
        var ended = 0;
        for (var trial = 0; trial < 2_000; trial++)
        {
            // Bytes weighted toward end (E4), end_c (E5), nop (E3) and the 2- and 4-byte codes (C0-E2).
            var codes = new byte[random.Next(0, 64)];
            for (var i = 0; i < codes.Length; i++)
            {
                codes[i] = random.Next(4) switch
                {
                    0 => (byte)(0xE3 + random.Next(3)),
                    1 => (byte)(0xC0 + random.Next(0x23)),
                    _ => (byte)random.Next(256),
                };
            }

            var record = new Arm64UnwindRecord(0x1000, 0, null, [], codes, null, []);
            var ending = record.EndingSequences();
            Assert.Equal(codes.Length, ending.Length);
            for (var i = 0; i < codes.Length; i++)
            {
                record.DecodeSequence(i, out var terminated, out var truncated);
                Assert.True(ending[i] == (terminated && !truncated), $"trial {trial}, byte {i} of [{Convert.ToHexString(codes)}]");
                ended += ending[i] ? 1 : 0;
            }
        }

        Assert.True(ended > 1_000, $"{ended} ending sequences seen");
    }
}
