namespace Pelint.Rules;

/// <summary>
/// Marks a rule class and names its page, <c>rules/&lt;Id&gt;.md</c>. The build generates the
/// class's <see cref="IRule.Id"/> and a nested <c>Messages</c> class from that page: one method per
/// message, with one argument per placeholder, so a rule cannot name a message its page lacks or
/// pass the wrong number of arguments. The class must be <c>partial</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RuleAttribute(string id) : Attribute
{
    public string Id { get; } = id;
}
