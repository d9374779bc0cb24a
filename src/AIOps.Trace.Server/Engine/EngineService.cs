using System.Diagnostics;
using System.Text.Json;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Bpf;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Anomalies;
using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Server.Streaming;
using AIOps.Trace.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AIOps.Trace.Server.Engine;

/// <summary>
/// The engine as a hosted service: every interval it cuts a window (<see cref="TraceSession"/>), diagnoses it, runs the anomaly
/// round on it, folds it into the per-container state, updates the metrics, publishes the API view
/// and pushes a frame (aiops_trace_window_cut_seconds includes the anomaly round).
/// It never waits on a client: the view is swapped whole and frames are offered, not sent. Each
/// window is also recorded into the <see cref="EngineMeter"/> (the Meter <c>AIOps.Trace</c>).
/// </summary>
public sealed partial class EngineService(TraceEngine engine, SidecarOptions options, SidecarMetrics metrics, StreamHub hub, AnomalyService anomalies,
    EngineMeter meter, ILogger<EngineService> logger)
    : BackgroundService, IReadiness
{
    private string? _analysisFailure;
    private readonly SidecarState _state = new(options.Node, metrics);
    private volatile SidecarView _view = SidecarView.Empty;
    private volatile string? _failure;
    private long _windows, _lostTotal, _skippedTotal, _readerFailures;
    private double _readAheadSeconds;

    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    /// <summary>The last window's view.</summary>
    public SidecarView View => _view;

    /// <summary>Windows cut so far.</summary>
    public long Windows => Interlocked.Read(ref _windows);

    /// <summary>Why the ring reader stopped (the loop then ends), or null.</summary>
    public string? Failure => _failure;

    /// <summary>Containers held (for tests of bounded state).</summary>
    internal int Tracked => _state.Count;

    /// <summary>Why the sidecar is not ready, or null when it is.</summary>
    public string? NotReady =>
        _failure is { } f ? "the engine stopped: " + f
        : engine.AttachedPrograms == 0 && engine.Kernel.Mode == TierMode.Ebpf ? "no program is attached"
        : _view.Window is null ? "no window was cut yet"
        : null;

    public EngineInfo Info() => new(
        engine.Kernel.Mode.Name(), engine.Kernel.Attach, engine.Kernel.Ring, engine.Kernel.ThrottleSource,
        engine.AttachedPrograms, NotReady is null, Interlocked.Read(ref _windows), Interlocked.Read(ref _lostTotal),
        Interlocked.Read(ref _readerFailures), _failure, hub.Clients, hub.DroppedFrames, Started, Interlocked.Read(ref _skippedTotal));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        metrics.AttachedPrograms.Set(engine.AttachedPrograms);
        using var session = new TraceSession(engine, options.HostRoot) { ReadingsEvery = options.ReadingsEvery };
        using var timer = new PeriodicTimer(options.Interval);
        try
        {
            while (_failure is null && await timer.WaitForNextTickAsync(stoppingToken))
            {
                long tick = Stopwatch.GetTimestamp();
                Cut(session);
                if (options.CollectBetweenWindows && _failure is null)
                    CollectYoung();
                if (session.ReadingsEvery > 1 && _failure is null)
                {
                    // The readings the next cut is due to take (and the tree scan), off its latency:
                    // started so that, as long as the last one took, it ends halfway between now and
                    // the next tick (at once when it would not fit), never delaying that tick.
                    TimeSpan left = options.Interval - Stopwatch.GetElapsedTime(tick) - TimeSpan.FromSeconds(_readAheadSeconds);
                    if (left > TimeSpan.Zero)
                        await Task.Delay(left / 2, stoppingToken);
                    long started = Stopwatch.GetTimestamp();
                    session.ReadAhead();
                    _readAheadSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    metrics.ReadAheadSeconds.Set(_readAheadSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    // The window's temporaries (snapshot, diagnoses, inputs, the last view) are dead now, so a young
    // collection finds little alive; left to the allocator, collections land inside the next cut,
    // with that cut's objects alive. Side by side at 1,000 and 5,000 containers: the cut's p99 half
    // as long, its p50 0.64-0.94, CPU 0.97-1.07 (docs/measured.md, eighth round).
    private void CollectYoung()
    {
        long started = Stopwatch.GetTimestamp();
        GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: false);
        metrics.CollectSeconds.Set(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private void Cut(TraceSession session)
    {
        long started = Stopwatch.GetTimestamp();
        TraceWindow window;
        try
        {
            window = session.Cut();
        }
        catch (InvalidOperationException e)
        {
            // The ring reader died: no later window can be trusted. Say so everywhere and stop.
            Interlocked.Increment(ref _readerFailures);
            metrics.ReaderFailures.Inc();
            metrics.Ready.Set(0);
            _failure = e.Message;
            ReaderFailed(logger, e.Message.ReplaceLineEndings(" "));
            return;
        }
        using (window)
        {
            EngineSnapshot snapshot = window.Snapshot;
            IReadOnlyList<ContainerDiagnosis> diagnoses = WindowDiagnosis.Diagnose(window);
            var inputs = WindowInputs.Build(window, diagnoses, options.Node);
            long seq = Interlocked.Increment(ref _windows);
            DateTimeOffset end = DateTimeOffset.UtcNow;
            var verdicts = Analyze(inputs, end);
            var info = new WindowInfo(seq, end, Math.Round(snapshot.WindowSeconds, 4), snapshot.LostEvents, snapshot.Host.Cpus,
                Math.Round(snapshot.Host.IdleRatio, 3), Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 4), Math.Round(_readAheadSeconds, 4));
            (StreamFrame frame, SidecarView view) = _state.Apply(info, snapshot, diagnoses, window.Live, inputs, verdicts);

            Interlocked.Add(ref _lostTotal, snapshot.LostEvents);
            metrics.LostEvents.Inc(snapshot.LostEvents);
            Interlocked.Add(ref _skippedTotal, snapshot.SkippedEvents);
            metrics.SetDrops(snapshot);
            meter.Record(snapshot);
            metrics.Windows.Inc();
            metrics.WindowSeconds.Set(snapshot.WindowSeconds);
            metrics.CutSeconds.Set(Stopwatch.GetElapsedTime(started).TotalSeconds);
            metrics.AttachedPrograms.Set(engine.AttachedPrograms);
            metrics.SetRuntime();
            _view = view;
            metrics.Ready.Set(NotReady is null ? 1 : 0);
            // After the view: a client that joins in between says hello with this seq and skips the frame.
            hub.Publish(seq, JsonSerializer.SerializeToUtf8Bytes(frame, ApiJson.Default.StreamFrame));
        }
    }

    /// <summary>
    /// Runs the anomaly round of this window. A round that fails costs its verdicts only: the
    /// window's figures still count, and the failure is reported once on stderr and in the API.
    /// </summary>
    private Dictionary<string, (Verdict, VerdictSummary)> Analyze(Dictionary<ContainerSnapshot, ContainerInput> inputs, DateTimeOffset at)
    {
        var idOfKey = new Dictionary<string, string>(inputs.Count, StringComparer.Ordinal);
        foreach (ContainerSnapshot c in inputs.Keys)
            idOfKey[c.CgroupPath] = SidecarState.IdOf(c);
        var verdicts = new Dictionary<string, (Verdict, VerdictSummary)>(StringComparer.Ordinal);
        try
        {
            AnalysisRound round = anomalies.Analyze(inputs.Values.ToList(), idOfKey, at);
            IReadOnlyDictionary<string, VerdictSummary> summaries = anomalies.View.SummaryOfKey;
            foreach (Verdict v in round.Verdicts)
                verdicts[v.Key] = (v, summaries[v.Key]);
            _analysisFailure = null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or ArithmeticException or Microsoft.Data.Sqlite.SqliteException
            or DllNotFoundException or EntryPointNotFoundException) // libsvm.so.3 missing: no learned model, the verdicts say why
        {
            string why = "anomaly analysis failed: " + e.Message.ReplaceLineEndings(" ");
            if (why != _analysisFailure)
                AnalysisFailed(logger, why);
            _analysisFailure = why;
            anomalies.Failed(why);
        }
        return verdicts;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Why}")]
    private static partial void ReaderFailed(ILogger logger, string why);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Why}")]
    private static partial void AnalysisFailed(ILogger logger, string why);
}
