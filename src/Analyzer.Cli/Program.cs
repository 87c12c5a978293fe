using System.Runtime.InteropServices;
using Pelint.Cli;
using Pelint.Reporting;

// SIGINT (Ctrl-C) and SIGTERM cancel the command instead of killing the process, so a SARIF log
// being written is abandoned and its temporary file removed; a command that does not stop within
// a few seconds is ended anyway.
using var cancellation = new CancellationTokenSource();
var signalExit = ExitCodes.Interrupted;
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    signalExit = context.Signal == PosixSignal.SIGTERM ? 143 : ExitCodes.Interrupted;
    var code = signalExit;
    if (cancellation.IsCancellationRequested)
    {
        Environment.Exit(code); // a second signal: the user insists
    }

    cancellation.Cancel();
    _ = Task.Delay(TimeSpan.FromSeconds(5)).ContinueWith(_ => Environment.Exit(code), TaskScheduler.Default);
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
var exit = PelintCli.Run(CommandLineBytes.Recover(args), Console.Out, Console.Error, cancellation.Token);
if (cancellation.IsCancellationRequested && exit == ExitCodes.Interrupted)
{
    return signalExit;
}

return exit;
