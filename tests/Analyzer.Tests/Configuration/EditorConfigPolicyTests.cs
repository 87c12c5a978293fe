using Pelint.Configuration;
using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Tests.Configuration;

public sealed class EditorConfigPolicyTests : IDisposable
{
    private static readonly RuleCatalog Catalog = new(
    [
        Rule("PE9001", "first-rule", "Security", Level.Error, enabled: true),
        Rule("PE9002", "second-rule", "Security", Level.Warning, enabled: true),
        Rule("PE9003", "third-rule", "Performance", Level.Warning, enabled: true),
        Rule("PE9004", "opt-in-rule", "Security", Level.Note, enabled: false),
    ]);

    private readonly string _root = Directory.CreateTempSubdirectory("pelint-editorconfig-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Rule_id_beats_category_beats_global_and_section_globs_apply()
    {
        Write(".editorconfig", """
            root = true
            [*.dll]
            dotnet_analyzer_diagnostic.severity = suggestion
            dotnet_analyzer_diagnostic.category-Security.severity = silent
            dotnet_diagnostic.PE9001.severity = warning
            [**/legacy/*.dll]
            dotnet_diagnostic.second-rule.severity = none
            """);
        var policy = new EditorConfigPolicy(Catalog);
        var app = Path.Combine(_root, "bin", "app.dll");
        var legacy = Path.Combine(_root, "bin", "legacy", "old.dll");

        Assert.Equal(Level.Warning, policy.LevelFor(Catalog.Find("PE9001")!, app));      // ID beats category
        Assert.Equal(Level.None, policy.LevelFor(Catalog.Find("PE9002")!, app));         // category beats global (silent)
        Assert.Equal(Level.Note, policy.LevelFor(Catalog.Find("PE9003")!, app));         // global: suggestion = note
        Assert.Null(policy.LevelFor(Catalog.Find("PE9002")!, legacy));                   // the [**/legacy/*.dll] section turns it off
        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "app.exe"))); // no section matches: default
        Assert.Empty(policy.Notifications);
    }

    [Fact]
    public void Nearer_file_wins_and_the_walk_stops_at_root()
    {
        Write(".editorconfig", "[*]\ndotnet_diagnostic.PE9001.severity = none\n");
        Write("repo/.editorconfig", "root = true\n[*]\ndotnet_diagnostic.PE9002.severity = error\n");
        Write("repo/sub/.editorconfig", "[*]\ndotnet_diagnostic.PE9002.severity = suggestion\n");
        var policy = new EditorConfigPolicy(Catalog);

        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "repo", "a.dll"))); // above root: ignored
        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9002")!, Path.Combine(_root, "repo", "a.dll")));
        Assert.Equal(Level.Note, policy.LevelFor(Catalog.Find("PE9002")!, Path.Combine(_root, "repo", "sub", "a.dll")));
        Assert.Null(policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "a.dll")));
    }

    [Fact]
    public void Rules_off_by_default_are_turned_on_by_id_only_and_default_restores_the_default()
    {
        Write(".editorconfig", """
            root = true
            [*]
            dotnet_analyzer_diagnostic.severity = error
            [on/*]
            dotnet_diagnostic.opt-in-rule.severity = warning
            dotnet_diagnostic.PE9003.severity = default
            """);
        var policy = new EditorConfigPolicy(Catalog);

        Assert.Null(policy.LevelFor(Catalog.Find("PE9004")!, Path.Combine(_root, "a.dll")));
        Assert.Equal(Level.Warning, policy.LevelFor(Catalog.Find("PE9004")!, Path.Combine(_root, "on", "a.dll")));
        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9003")!, Path.Combine(_root, "a.dll")));
        Assert.Equal(Level.Warning, policy.LevelFor(Catalog.Find("PE9003")!, Path.Combine(_root, "on", "a.dll")));
    }

    [Fact]
    public void Bad_values_and_unknown_rules_become_configuration_notifications_not_errors()
    {
        Write(".editorconfig", """
            root = true
            [*]
            dotnet_diagnostic.PE9001.severity = loud
            dotnet_diagnostic.PE9999.severity = error
            dotnet_diagnostic.CA1822.severity = error
            """);
        var policy = new EditorConfigPolicy(Catalog);

        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "a.dll")));
        var notifications = policy.Notifications;
        Assert.Equal(2, notifications.Count); // CA1822 belongs to the C# compiler's analyzers: not ours to report
        Assert.All(notifications, n => Assert.Equal(ToolNotification.Configuration, n.Id));
        Assert.Contains("'loud' is not a severity", notifications[0].Message, StringComparison.Ordinal);
        Assert.Contains("PE9999", notifications[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_notifications_are_capped_per_file_with_one_that_counts_the_rest()
    {
        // 20,000 bad lines, as a generated or hostile .editorconfig can have: 100 notifications in
        // line order, then one for the other 19,900, however many scanned files the file applies to.
        var lines = Enumerable.Range(0, 20_000).Select(i => $"dotnet_diagnostic.PE9001.severity = loud{i}");
        Write(".editorconfig", "root = true\n[*]\n" + string.Join('\n', lines) + "\n");
        var policy = new EditorConfigPolicy(Catalog);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, $"f{i}.dll")));
        }

        var notifications = policy.Notifications;
        Assert.Equal(EditorConfigPolicy.MaxNotificationsPerFile + 1, notifications.Count);
        Assert.All(notifications, n => Assert.Equal(ToolNotification.Configuration, n.Id));
        Assert.Contains("(3): 'loud0' is not a severity", notifications[0].Message, StringComparison.Ordinal);
        Assert.Contains("(102): 'loud99' is not a severity", notifications[99].Message, StringComparison.Ordinal);
        Assert.EndsWith(": 19900 more configuration problems were not reported (the first 100 are)", notifications[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_config_file_has_its_own_cap()
    {
        Write(".editorconfig", "root = true\n[*]\n" + string.Join('\n', Enumerable.Range(0, 150).Select(i => $"dotnet_diagnostic.PE9001.severity = loud{i}")) + "\n");
        Write("sub/.editorconfig", "[*]\ndotnet_diagnostic.PE9999.severity = error\n");
        var policy = new EditorConfigPolicy(Catalog);

        policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "sub", "a.dll"));

        var notifications = policy.Notifications;
        Assert.Equal(EditorConfigPolicy.MaxNotificationsPerFile + 2, notifications.Count);
        Assert.Contains("50 more configuration problems", notifications[EditorConfigPolicy.MaxNotificationsPerFile].Message, StringComparison.Ordinal);
        Assert.Contains("PE9999", notifications[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_config_file_applies_everywhere_below_the_editorconfig_files()
    {
        Write("pelint.editorconfig", "dotnet_diagnostic.PE9001.severity = none\ndotnet_diagnostic.PE9002.severity = none\ndotnet_analyzer_diagnostic.category-Nope.severity = error\n");
        Write("scan/.editorconfig", "root = true\n[*]\ndotnet_diagnostic.PE9002.severity = error\n");
        var policy = new EditorConfigPolicy(Catalog, Path.Combine(_root, "pelint.editorconfig"));

        Assert.Null(policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "scan", "a.dll")));
        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9002")!, Path.Combine(_root, "scan", "a.dll")));
        Assert.Contains(policy.Notifications, n => n.Message.Contains("category 'Nope'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_explicit_config_file_elsewhere_applies_its_file_name_sections_to_every_scanned_file()
    {
        Write("config/pelint.editorconfig", "root = true\n[*]\ndotnet_diagnostic.PE9001.severity = none\n[*.exe]\ndotnet_diagnostic.PE9002.severity = error\n[legacy/*.dll]\ndotnet_diagnostic.PE9002.severity = none\n");
        var policy = new EditorConfigPolicy(Catalog, Path.Combine(_root, "config", "pelint.editorconfig"));
        var elsewhere = Path.Combine(_root, "drop", "legacy", "a.dll");

        Assert.Null(policy.LevelFor(Catalog.Find("PE9001")!, elsewhere));
        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9002")!, Path.Combine(_root, "drop", "b.exe")));
        Assert.NotNull(policy.LevelFor(Catalog.Find("PE9002")!, elsewhere)); // a path glob stays relative to the config's folder
    }

    [Fact]
    public void A_missing_explicit_config_file_is_a_notification()
    {
        var policy = new EditorConfigPolicy(Catalog, Path.Combine(_root, "missing.editorconfig"));

        Assert.Equal(Level.Error, policy.LevelFor(Catalog.Find("PE9001")!, Path.Combine(_root, "a.dll")));
        Assert.Single(policy.Notifications);
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private static RuleDescriptor Rule(string id, string name, string category, Level level, bool enabled) =>
        new(id, name, name, name, category, level, enabled, new Dictionary<string, string> { ["default"] = "x" }, [], null, "help", "https://example.invalid");
}
