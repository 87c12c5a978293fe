using Pelint.Fuzz;
using SharpFuzz;

// One input per execution, fed by afl-fuzz through SharpFuzz's fork server (tests/Analyzer.Fuzz/README.md).
// Without afl-fuzz the action runs once on standard input, or on each file named after the target: a replay.
var target = args.Length > 0 ? args[0] : "pe";
Action<byte[]> action = target switch
{
    "pe" => FuzzTargets.Image,
    "config" => FuzzTargets.Configuration,
    _ => throw new ArgumentException($"unknown target '{target}' (pe or config)"),
};

if (args.Length > 1)
{
    foreach (var file in args.Skip(1))
    {
        action(File.ReadAllBytes(file));
        Console.WriteLine($"ok: {file}");
    }

    return;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    action(buffer.ToArray());
});
