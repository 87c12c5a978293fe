using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Pelint.Benchmarks -- --filter '*'   (or a class name, e.g. '*Epilog*')
BenchmarkSwitcher.FromAssembly(typeof(Pelint.Benchmarks.ReaderBenchmarks).Assembly).Run(args);
