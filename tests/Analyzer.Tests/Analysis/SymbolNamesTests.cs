using Pelint.Analysis;
using Pelint.Analysis.Functions;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Testing;

namespace Pelint.Tests.Analysis;

/// <summary>
/// Function names from a PDB: hotpatch-one.x64.exe and its PDB from samples/build.sh. Its
/// functions first_in_chunk (0x1100) and unpadded_helper (0x1130) are not exported, so only the
/// PDB names them (llvm-pdbutil-22 dump -publics: 0001:0256 and 0001:0304, .text at 0x1000).
/// </summary>
public sealed class SymbolNamesTests : IDisposable
{
    private const uint UnpaddedHelper = 0x1130;
    private const uint TicksPlus = 0x1010; // exported
    private const string Exe = "hotpatch-one.x64.exe";
    private const string Pdb = "hotpatch-one.x64.pdb";

    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-symbols-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_matching_pdb_beside_the_image_names_functions_that_exports_do_not()
    {
        var (names, identity, notes) = Analyze(Path.Combine(TestPaths.SamplesBin, Exe));
        Assert.Equal("unpadded_helper", identity.DisplayName(UnpaddedHelper));
        Assert.Equal("first_in_chunk", identity.DisplayName(0x1100));
        Assert.Equal("ticks_plus", identity.DisplayName(TicksPlus));
        Assert.Equal(Path.Combine(TestPaths.SamplesBin, Pdb), names.PdbPath);
        Assert.Empty(notes);
    }

    [Fact]
    public void Fingerprint_keys_never_come_from_the_pdb()
    {
        var with = KeyOf(Path.Combine(TestPaths.SamplesBin, Exe), UnpaddedHelper);
        var image = Copy(Exe);
        var without = KeyOf(image, UnpaddedHelper);
        Assert.Equal(without, with);
        Assert.DoesNotContain("unpadded_helper", with, StringComparison.Ordinal);
        Assert.Equal("ticks_plus", KeyOf(image, TicksPlus));
    }

    [Fact]
    public void Without_a_pdb_functions_are_sub_rva_and_nothing_is_said()
    {
        var (names, identity, notes) = Analyze(Copy(Exe));
        Assert.Equal("sub_1130", identity.DisplayName(UnpaddedHelper));
        Assert.Null(names.PdbPath);
        Assert.Empty(notes);
    }

    [Fact]
    public void A_pdb_of_another_build_is_ignored_with_a_note()
    {
        var image = Copy(Exe);
        Copy(Pdb);
        var bytes = File.ReadAllBytes(image);
        var rsds = bytes.AsSpan().IndexOf("RSDS"u8);
        bytes[rsds + 4] ^= 0x01; // first byte of the GUID
        File.WriteAllBytes(image, bytes);
        var (names, identity, notes) = Analyze(image);
        Assert.Equal("sub_1130", identity.DisplayName(UnpaddedHelper));
        Assert.Null(names.PdbPath);
        var note = Assert.Single(notes);
        Assert.Contains("does not match", note.Message, StringComparison.Ordinal);
        Assert.Contains("{CD004A00-E496-DE04-4C4C-44205044422E} age 1", note.Message, StringComparison.Ordinal);
        Assert.Contains("{CD004A01-E496-DE04-4C4C-44205044422E} age 1", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pdb_that_cannot_be_read_is_ignored_with_a_note_and_the_scan_reports_it()
    {
        var image = Copy(Exe);
        File.WriteAllBytes(Path.Combine(_dir, Pdb), File.ReadAllBytes(Path.Combine(TestPaths.SamplesBin, Pdb))[..5000]);
        var (_, identity, notes) = Analyze(image);
        Assert.Equal("sub_1130", identity.DisplayName(UnpaddedHelper));
        Assert.Contains("cannot be read as a PDB", Assert.Single(notes).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Symbol_folders_are_searched_flat_and_in_symbol_store_layout()
    {
        var image = Copy(Exe);
        var flat = Directory.CreateDirectory(Path.Combine(_dir, "flat")).FullName;
        File.Copy(Path.Combine(TestPaths.SamplesBin, Pdb), Path.Combine(flat, Pdb));
        Assert.Equal("unpadded_helper", Analyze(image, flat).Identity.DisplayName(UnpaddedHelper));

        var store = Path.Combine(_dir, "store");
        var keyed = Directory.CreateDirectory(Path.Combine(store, Pdb, "CD004A00E496DE044C4C44205044422E1")).FullName;
        File.Copy(Path.Combine(TestPaths.SamplesBin, Pdb), Path.Combine(keyed, Pdb));
        Assert.Equal("unpadded_helper", Analyze(image, store).Identity.DisplayName(UnpaddedHelper));
    }

    [Fact]
    public void Notes_become_pel0008_notifications_of_the_file()
    {
        var image = Copy(Exe);
        File.WriteAllBytes(Path.Combine(_dir, Pdb), [1, 2, 3]);
        var engine = RuleEngine.CreateDefault();
        using var opened = PeImage.Open(image).Image!;
        var analysis = new AnalysisContext(opened);
        FunctionIdentity.Of(analysis).DisplayName(UnpaddedHelper);
        var report = engine.Analyze(analysis, DefaultSeverityPolicy.Instance);
        var notification = Assert.Single(report.Notifications, n => n.Id == ToolNotification.AnalysisNote);
        Assert.Equal(Pelint.Rules.Level.Note, notification.Level);
        Assert.Equal(image, notification.Path);
    }

    private string Copy(string name)
    {
        var to = Path.Combine(_dir, name);
        File.Copy(Path.Combine(TestPaths.SamplesBin, name), to, overwrite: true);
        return to;
    }

    private static string KeyOf(string path, uint rva)
    {
        using var image = PeImage.Open(path).Image!;
        var identity = FunctionIdentity.Of(new AnalysisContext(image));
        return identity.KeyOf(image.ExceptionDirectory.FindContaining(rva)!.Value);
    }

    private static (SymbolNames Names, FunctionIdentity Identity, IReadOnlyList<AnalysisNote> Notes) Analyze(string path, params string[] symbolDirectories)
    {
        using var image = PeImage.Open(path).Image!;
        var context = new AnalysisContext(image, new AnalysisSettings { SymbolDirectories = symbolDirectories });
        var identity = FunctionIdentity.Of(context);
        identity.DisplayName(UnpaddedHelper);
        return (SymbolNames.Of(context), identity, context.Notes);
    }
}
