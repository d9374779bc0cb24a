using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Server.Metrics;
using Microsoft.Extensions.Hosting;

namespace AIOps.Trace.Server.Anomalies;

/// <summary>
/// The analysis-only host's loop: every interval it pulls a round's containers from a source
/// (a Prometheus server in cluster mode), runs the pipeline and publishes verdicts and series.
/// A source that cannot be read costs that round only: it is reported on stderr and in /readyz,
/// and the next round tries again.
/// </summary>
internal sealed class AnalysisLoop(AnomalyService anomalies, IContainerSource source, SidecarOptions options, AnalysisMetrics metrics)
    : BackgroundService, IReadiness
{
    private volatile string? _failure;
    private long _rounds;

    /// <summary>Rounds analysed.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    public string? NotReady =>
        _failure is { } f ? f : Rounds == 0 ? "no round was analysed yet" : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(options.Interval);
        try
        {
            do
                await RoundAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RoundAsync(CancellationToken cancel)
    {
        IReadOnlyList<ContainerInput> inputs;
        try
        {
            inputs = await source.CollectAsync(cancel);
        }
        catch (ContainerSourceException e)
        {
            Fail(e.Message); // the source names itself in its messages (IContainerSource)
            return;
        }
        AnalysisRound round;
        try
        {
            round = anomalies.Analyze(inputs, new Dictionary<string, string>(), DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or ArithmeticException
            or DllNotFoundException or EntryPointNotFoundException) // libsvm.so.3 missing
        {
            Fail("anomaly analysis failed: " + e.Message);
            return;
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var verdicts = round.Verdicts.ToDictionary(v => v.Key, StringComparer.Ordinal);
        foreach (ContainerInput input in inputs)
        {
            string key = input.Attributes.Key;
            if (!keys.Add(key))
                continue;
            string[] labels = [key, input.Attributes.Node ?? ""];
            metrics.SetInputs(key, labels, input);
            metrics.SetVerdict(key, labels, verdicts.GetValueOrDefault(key));
        }
        metrics.RetainOnly(keys);
        Interlocked.Increment(ref _rounds);
        _failure = null;
    }

    private void Fail(string why)
    {
        why = why.ReplaceLineEndings(" ");
        Console.Error.WriteLine($"aiops-trace: round {Rounds + 1}: {why}");
        _failure = why;
        anomalies.Failed(why);
    }
}
