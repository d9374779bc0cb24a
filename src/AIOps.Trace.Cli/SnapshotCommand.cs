using System.Text.Json;
using AIOps.Trace.Contracts;

namespace AIOps.Trace.Cli;

/// <summary>`aiops-trace snapshot`: one window, one document on stdout.</summary>
internal static class SnapshotCommand
{
    public static int Run(Arguments a)
    {
        TimeSpan duration = a.Duration("duration", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
        bool json = a.Flag("json");
        EngineOptions options = Program.EngineOptions(a);

        using TraceEngine engine = Program.StartEngine(options);
        // Every cgroup that ran, CPU figures only: the document has no memory, disk or network.
        using var session = new TraceSession(engine, options.HostRoot, probes: [], WindowScope.Ran);
        using CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals);
        using (signals)
            cts.Token.WaitHandle.WaitOne(duration);

        using TraceWindow window = session.Cut();
        EngineSnapshot snapshot = window.Snapshot;
        new IdentityWarnings(engine).PrintNew();
        if (json)
        {
            using Stream stdout = Console.OpenStandardOutput();
            JsonSerializer.Serialize(stdout, SnapshotDocument.From(snapshot), TraceJson.Default.SnapshotDocument);
            stdout.WriteByte((byte)'\n');
        }
        else
        {
            TextReport.Write(Console.Out, snapshot);
        }
        return Program.ExitOk;
    }
}
