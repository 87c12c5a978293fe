using System.Reflection;
using System.Text.RegularExpressions;
using Pelint.Rules;

namespace Pelint.Tests.Engine;

/// <summary>
/// The build reads rules/*.md with the generator (src/Analyzer.Generators), the running tool with
/// RulePage: both must see the same messages. Every rule's generated Messages class has exactly one
/// method per message of the runtime catalogue (the engine's "capped" summary aside), taking one
/// argument per placeholder, a Hex exactly where the template writes 0x{n}, and its finding
/// formats to the template with every placeholder filled.
/// </summary>
public sealed partial class RuleMessagesAgreementTests
{
    public static TheoryData<string> RuleIds => [.. RuleRegistry.CreateAll().Select(r => r.Id)];

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Generated_messages_match_the_runtime_catalogue(string id)
    {
        var rule = RuleRegistry.CreateAll().Single(r => r.Id == id);
        var descriptor = RuleCatalog.Embedded.Find(id)!;
        var messages = rule.GetType().GetNestedType("Messages", BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"{rule.GetType().Name} has no generated Messages class");
        var made = new Dictionary<string, Finding>(StringComparer.Ordinal);

        foreach (var method in messages.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            var parameters = method.GetParameters();
            var arguments = new object[parameters.Length];
            arguments[0] = new FindingLocation(FileOffset: 0x40);
            arguments[1] = "key";
            for (var i = 2; i < parameters.Length; i++)
            {
                arguments[i] = parameters[i].ParameterType == typeof(Hex) ? new Hex((ulong)(0xA0 + i - 2)) : (MessageArgument)$"<arg{i - 2}>";
            }

            var finding = (Finding)method.Invoke(null, arguments)!;
            Assert.Equal(id, finding.RuleId);
            Assert.True(made.TryAdd(finding.MessageId, finding), $"{method.Name} makes message '{finding.MessageId}' a second time");
            Assert.Equal("key", finding.FingerprintKey);
            Assert.Equal(0x40, finding.Location.FileOffset);

            var template = descriptor.Messages[finding.MessageId];
            var hex = HexPlaceholder().Matches(template).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            Assert.Equal(MessageTemplate.ArgumentCount(template), parameters.Length - 2);
            Assert.Equal(hex, Enumerable.Range(0, parameters.Length - 2).Where(i => parameters[i + 2].ParameterType == typeof(Hex)).ToHashSet());

            var text = descriptor.FormatMessage(finding.MessageId, finding.Arguments);
            Assert.DoesNotMatch(AnyPlaceholder(), text);
            for (var i = 0; i < finding.Arguments.Count; i++)
            {
                Assert.Contains(hex.Contains(i) ? $"0x{0xA0 + i:X}" : $"<arg{i}>", text, StringComparison.Ordinal);
            }
        }

        Assert.Equal(descriptor.Messages.Keys.Where(k => k != RuleDescriptor.CappedMessageId).Order(StringComparer.Ordinal), made.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Hex_arguments_print_upper_case_digits_without_prefix_padded_when_asked()
    {
        Assert.Equal("1A2B", new Hex(0x1A2Bu).Text);
        Assert.Equal("0160", new Hex(0x160, 4).Text);
        Assert.Equal("00000020", new Hex(0x20, 8).Text);
        Assert.Equal("140000000", ((Hex)0x1_4000_0000UL).Text);
        Assert.Equal("FFFFFFFF", ((Hex)uint.MaxValue).Text);
    }

    [Fact]
    public void Number_arguments_print_invariant_decimal_digits_whatever_the_culture()
    {
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            // de-DE groups thousands with '.'; ar-SA would use other digits; a message must not.
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("-1234567", ((MessageArgument)(-1234567)).Text);
            Assert.Equal("4294967295", ((MessageArgument)uint.MaxValue).Text);
            Assert.Equal("18446744073709551615", ((MessageArgument)ulong.MaxValue).Text);
            Assert.Equal(string.Empty, ((MessageArgument)(string?)null).Text);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }

    [GeneratedRegex(@"0x\{(\d+)\}")]
    private static partial Regex HexPlaceholder();

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex AnyPlaceholder();
}
