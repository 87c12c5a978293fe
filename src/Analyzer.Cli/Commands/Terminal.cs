namespace Pelint.Cli.Commands;

/// <summary>What the process writes to: colours and progress only for a person at a terminal.</summary>
internal sealed record Terminal(bool StdoutIsTerminal, bool StderrIsTerminal, bool NoColor)
{
    /// <summary>Writers other than the process's own console (tests, redirection) are never terminals.</summary>
    public static Terminal Detect(TextWriter stdout, TextWriter stderr) => new(
        ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected,
        ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected,
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")));

    public bool Color => StdoutIsTerminal && !NoColor;

    /// <summary>Columns of the terminal (0 when unknown): the report wraps to it.</summary>
    public int Width
    {
        get
        {
            try
            {
                return StdoutIsTerminal ? Console.WindowWidth : 0;
            }
            catch (IOException)
            {
                return 0;
            }
        }
    }
}
