using System.Text.Json;

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
        using CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals);
        using (signals)
            cts.Token.WaitHandle.WaitOne(duration);

        using EngineSnapshot snapshot = engine.CollectWindow();
        new IdentityWarnings(engine).PrintNew();
        if (json)
        {
            using Stream stdout = Console.OpenStandardOutput();
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
                SnapshotJson.Write(w, snapshot);
            stdout.WriteByte((byte)'\n');
        }
        else
        {
            TextReport.Write(Console.Out, snapshot);
        }
        return Program.ExitOk;
    }
}
