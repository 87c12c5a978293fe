using System.Runtime.ExceptionServices;

namespace Pelint.Analysis;

/// <summary>
/// Runs numbered chunks of an analysis on the context's threads: a fixed set of workers, each
/// with state built once (a reader, a decoder, buffers), takes the next chunk until none is left.
/// Callers store each chunk's result at its number, so the outcome does not depend on the thread
/// count or on which worker ran what. (Parallel.For's per-task state would be rebuilt each time
/// the pool replaces a task.)
/// </summary>
internal static class ChunkedWork
{
    public static void Run<TWorker>(AnalysisContext context, int chunks, Func<TWorker> create, Action<TWorker, int> run)
        where TWorker : IDisposable
    {
        var next = -1;
        void Work()
        {
            using var worker = create();
            int chunk;
            while ((chunk = Interlocked.Increment(ref next)) < chunks)
            {
                context.ThrowIfStopped();
                run(worker, chunk);
            }
        }

        var workers = Math.Min(context.Parallelism, chunks);
        if (workers <= 1)
        {
            Work();
            return;
        }

        try
        {
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ => Work());
        }
        catch (AggregateException e)
        {
            // The engine tells a timeout (cancellation) from a rule failure by the exception: show the real one.
            var first = e.InnerExceptions.FirstOrDefault(x => x is OperationCanceledException) ?? e.InnerExceptions[0];
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
