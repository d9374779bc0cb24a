using AIOps.Trace.Server.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AIOps.Trace.Server.Engine;

/// <summary>How the supervisor restarts a failed engine, and when it gives up.</summary>
/// <param name="FirstDelay">Wait before the first restart; each failure in a row doubles it, up to <paramref name="MaxDelay"/>.</param>
/// <param name="MaxFailuresInARow">Failures without a window cut in between after which the sidecar stops with a non-zero exit.</param>
public sealed record SupervisorPolicy(TimeSpan FirstDelay, TimeSpan MaxDelay, int MaxFailuresInARow)
{
    /// <summary>1 s, 2 s, 4 s, 8 s, 16 s: about half a minute of retries, inside a liveness probe's usual three failures.</summary>
    public static readonly SupervisorPolicy Default = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 5);

    /// <summary>The wait before the restart that follows the <paramref name="failuresInARow"/>-th failure (1-based).</summary>
    public TimeSpan DelayAfter(int failuresInARow) =>
        TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(failuresInARow - 1, 20)));
}

/// <summary>The engine failed too often in a row: `serve` stops and exits non-zero, so the orchestrator sees it.</summary>
public sealed class EngineFailedException(string message) : Exception(message);

/// <summary>
/// Keeps the engine running inside `serve`. Each generation is a <see cref="EngineService"/> over
/// one <see cref="TraceEngine"/>; when it ends by itself (the ring reader died) or throws while
/// cutting a window, its engine is disposed (the programs detach), and after a backoff a new
/// engine is started and a new loop runs. While the engine is down /healthz answers 503 and says
/// why; after <see cref="SupervisorPolicy.MaxFailuresInARow"/> failures with no window cut in
/// between, <see cref="Fatal"/> says why and, in `serve`, the host stops (the caller exits non-zero);
/// a host that embeds the engine keeps running and its health check reports the engine unhealthy.
/// </summary>
/// <param name="first">The engine the caller started (and disposes); null: the supervisor starts the first one with <paramref name="restart"/>.</param>
/// <param name="stopHostOnFatal">Stop the whole host when the engine gives up (the sidecar), or only report it (an embedding app).</param>
public sealed partial class EngineSupervisor(IServiceProvider services, TraceEngine? first, Func<TraceEngine> restart,
    SupervisorPolicy policy, SidecarMetrics metrics, IHostApplicationLifetime lifetime, ILogger<EngineSupervisor> logger,
    bool stopHostOnFatal = true) : BackgroundService, IReadiness
{
    private volatile EngineService? _current;
    private volatile string? _down, _fatal;
    private int _restarts;

    /// <summary>The running generation (the last one while the engine is down).</summary>
    public EngineService Current => _current ?? throw new InvalidOperationException("the engine has not started yet");

    /// <summary>The running generation, or null before the first engine started.</summary>
    public EngineService? Running => _current;

    /// <summary>Restarts so far.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>Why the sidecar gave up, or null.</summary>
    public string? Fatal => _fatal;

    public string? NotReady => _fatal ?? _down ?? (_current is { } current ? current.NotReady : "the engine has not started yet");

    public string? Unhealthy => _fatal ?? _down;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TraceEngine? engine = first;
        string why = "";
        int failuresInARow = 0;
        try
        {
            if (engine is null)
            {
                await Task.Yield(); // loading the programs takes a while: not on the host's start
                engine = TryStart(ref why);
            }
            while (true)
            {
                if (engine is not null)
                {
                    var service = ActivatorUtilities.CreateInstance<EngineService>(services, engine);
                    _current = service;
                    _down = null;
                    why = await RunAsync(service, stoppingToken);
                    if (stoppingToken.IsCancellationRequested)
                        return;
                    failuresInARow = service.Windows > 0 ? 1 : failuresInARow + 1;
                    engine.Dispose(); // detaches its programs before the next generation attaches
                    engine = null;
                }
                else
                    failuresInARow++; // the restart itself failed: why says how
                if (failuresInARow >= policy.MaxFailuresInARow)
                {
                    _fatal = $"the engine failed {failuresInARow} time(s) in a row without cutting a window, last: {why}";
                    metrics.Ready.Set(0);
                    GaveUp(logger, _fatal);
                    if (stopHostOnFatal)
                        lifetime.StopApplication();
                    return;
                }
                TimeSpan delay = policy.DelayAfter(failuresInARow);
                _down = $"the engine failed ({why}); restart {failuresInARow} of at most {policy.MaxFailuresInARow - 1} in a row in {delay.TotalSeconds:0.#}s";
                metrics.Ready.Set(0);
                Down(logger, _down);
                await Task.Delay(delay, stoppingToken);
                engine = TryStart(ref why);
                if (engine is not null)
                {
                    Interlocked.Increment(ref _restarts);
                    metrics.EngineRestarts.Inc();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // The first engine belongs to the caller, who disposes it (disposal is idempotent).
            if (engine is not null && !ReferenceEquals(engine, first))
                engine.Dispose();
        }
    }

    private TraceEngine? TryStart(ref string why)
    {
        try
        {
            return restart();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            why = $"it could not start{(_current is null ? "" : " again")}: {e.Message.ReplaceLineEndings(" ")}";
            return null;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "{Why}")]
    private static partial void Down(ILogger logger, string why);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Why}")]
    private static partial void GaveUp(ILogger logger, string why);

    /// <summary>Runs one generation until it ends; returns why it ended (meaningless when stopping).</summary>
    private static async Task<string> RunAsync(EngineService service, CancellationToken stoppingToken)
    {
        await service.StartAsync(stoppingToken);
        try
        {
            await service.ExecuteTask!.WaitAsync(stoppingToken);
            return service.Failure is { } f ? "the ring reader stopped: " + f : "the engine loop ended";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return "stopping";
        }
        catch (Exception e)
        {
            // Any exception while cutting a window: the type and message, one line, never a stack trace.
            return $"{e.GetType().Name} while cutting a window: {e.Message.ReplaceLineEndings(" ")}";
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }
}
