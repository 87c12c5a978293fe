using Pelint.Cli;

return PelintCli.Run(args, Console.Out, Console.Error);
