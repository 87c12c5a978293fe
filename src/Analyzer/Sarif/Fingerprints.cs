using System.Text;
using Pelint.Engine;

namespace Pelint.Sarif;

/// <summary>
/// partialFingerprints that survive a rebuild: a hash of the rule, the message kind and the
/// finding's logical key (section name, function name, ...), never of raw RVAs or offsets.
/// </summary>
public static class Fingerprints
{
    public const string PelintKey = "pelint/v1";

    // GitHub's upload action computes this key from the artifact's "line" text when it is absent,
    // which for a binary changes on every rebuild; it keeps a value the producer supplies.
    public const string GitHubKey = "primaryLocationLineHash";

    public static string Compute(string ruleId, string messageId, string fingerprintKey)
    {
        var bytes = Sha256.HashData(Encoding.UTF8.GetBytes($"{ruleId}\n{messageId}\n{fingerprintKey}"));
        return Convert.ToHexStringLower(bytes.AsSpan(0, 8));
    }

    public static Dictionary<string, string> For(string hash) => new(StringComparer.Ordinal)
    {
        [PelintKey] = hash,
        [GitHubKey] = hash + ":1",
    };
}
