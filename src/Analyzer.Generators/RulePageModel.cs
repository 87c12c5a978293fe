namespace Pelint.Generators;

/// <summary>How a placeholder is formatted: text (names, decimal numbers) or hexadecimal digits after "0x".</summary>
internal enum PlaceholderKind
{
    Text,
    Hex,
}

/// <summary>One message of a page: its ID, template, the C# method named after it and its placeholders by index.</summary>
internal sealed record MessageModel(string Id, string Template, string MethodName, EquatableArray<PlaceholderKindBox> Placeholders);

/// <summary>A <see cref="PlaceholderKind"/> that <see cref="EquatableArray{T}"/> can hold.</summary>
internal readonly record struct PlaceholderKindBox(PlaceholderKind Kind);

/// <summary>
/// What the generator needs from a rule page: its ID and messages, and the problems found in its
/// front matter (each names a line of the page).
/// </summary>
internal sealed record RulePageModel(string Path, string FileId, string? Id, EquatableArray<MessageModel> Messages, EquatableArray<PageProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>A problem in a page's front matter, at a 0-based line of the page (Start and Length: that line's characters).</summary>
internal sealed record PageProblem(int Line, int Start, int Length, string Message);

/// <summary>A class marked <c>[Rule("...")]</c>, and where its attribute is (for diagnostics).</summary>
internal sealed record RuleClassModel(string? Namespace, string Name, string? Id, bool IsPartial, bool IsNested, LocationInfo Where);

/// <summary>A source location the incremental pipeline can compare (Roslyn's Location holds a syntax tree).</summary>
internal sealed record LocationInfo(string Path, int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn)
{
    public Microsoft.CodeAnalysis.Location ToLocation() =>
        Microsoft.CodeAnalysis.Location.Create(
            Path,
            new Microsoft.CodeAnalysis.Text.TextSpan(Start, Length),
            new Microsoft.CodeAnalysis.Text.LinePositionSpan(new(StartLine, StartColumn), new(EndLine, EndColumn)));

    public static LocationInfo From(Microsoft.CodeAnalysis.Location location)
    {
        var span = location.GetLineSpan();
        return new LocationInfo(span.Path ?? string.Empty, location.SourceSpan.Start, location.SourceSpan.Length,
            span.StartLinePosition.Line, span.StartLinePosition.Character, span.EndLinePosition.Line, span.EndLinePosition.Character);
    }
}
