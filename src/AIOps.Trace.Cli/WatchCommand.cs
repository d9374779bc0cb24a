using AIOps.Trace.Bpf;

namespace AIOps.Trace.Cli;

/// <summary>`aiops-trace watch`: a table per interval until Ctrl-C.</summary>
internal static class WatchCommand
{
    public static int Run(Arguments a)
    {
        TimeSpan interval = a.Duration("interval", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        EngineOptions options = Program.EngineOptions(a);

        using TraceEngine engine = Program.StartEngine(options);
        using var session = new TraceSession(engine, options.HostRoot, probes: [], WindowScope.Ran);
        using CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals);
        using (signals)
        {
            CliLog.Status(engine.Kernel.Mode == TierMode.Procfs
                ? $"sampling procfs (no BPF), throttling from {engine.Kernel.ThrottleSource}; Ctrl-C stops"
                : $"tracing with {engine.Kernel.Attach} + {engine.Kernel.Ring}, throttling from {engine.Kernel.ThrottleSource}; Ctrl-C stops");
            var warnings = new IdentityWarnings(engine);
            while (!cts.Token.WaitHandle.WaitOne(interval))
            {
                using TraceWindow window = session.Cut();
                EngineSnapshot s = window.Snapshot;
                warnings.PrintNew();
                TextReport.Write(Console.Out, s);
            }
        }
        return Program.ExitOk;
    }
}
