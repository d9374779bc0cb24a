using AIOps.Trace.Analysis;
using AIOps.Trace.Server.Metrics;
using Microsoft.Extensions.Options;

namespace AIOps.Trace.Server.Hosting;

/// <summary>
/// What <c>services.AddAiopsTrace(options => ...)</c> runs: the engine's options, how often a
/// window is cut, the node's name and the anomaly grouping. Checked when the host starts
/// (<see cref="AiopsTraceOptionsValidator"/>): a wrong value stops the start with a message that
/// names the property and what was expected.
/// </summary>
public sealed class AiopsTraceOptions
{
    /// <summary>Shortest and longest window.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100), MaxInterval = TimeSpan.FromMinutes(10);

    /// <summary>The engine: mode, tiers, the cgroups traced, where the host's / is mounted.</summary>
    public EngineOptions Engine { get; set; } = new();

    /// <summary>Window length: how often figures, metrics and the stream are updated (default 1 s).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The node label the documents and metrics carry (default the host name).</summary>
    public string Node { get; set; } = Environment.MachineName;

    /// <summary>How containers are grouped into monitoring domains: owner (default), image, runtime, qos, node, label:KEY or environment.</summary>
    public string Domains { get; set; } = "owner";

    /// <summary>How many run-queue buckets the Prometheus endpoint carries per container.</summary>
    public RunQueueDetail RunQueueDetail { get; set; } = RunQueueDetail.Coarse;

    /// <summary>
    /// Collect the young generation (gen0) of this process's heap right after each window, so the
    /// collections the next cut would meet happen between windows. Off by default: the heap is the
    /// host's. <c>aiops-trace serve</c> turns it on for its own (docs/measured.md, eighth round).
    /// </summary>
    public bool CollectBetweenWindows { get; set; }

    /// <summary>Backoff and limit of engine restarts after a failure.</summary>
    public Engine.SupervisorPolicy Restarts { get; set; } = Server.Engine.SupervisorPolicy.Default;
}

/// <summary>Checks <see cref="AiopsTraceOptions"/> without reflection (NativeAOT): one message per wrong property.</summary>
public sealed class AiopsTraceOptionsValidator : IValidateOptions<AiopsTraceOptions>
{
    public ValidateOptionsResult Validate(string? name, AiopsTraceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Engine is null)
            failures.Add("AiopsTraceOptions.Engine is null: expected the engine's options");
        else if (!Directory.Exists(options.Engine.HostRoot))
            failures.Add($"AiopsTraceOptions.Engine.HostRoot '{options.Engine.HostRoot}' is not a directory: expected where the host's / is mounted");
        if (options.Interval < AiopsTraceOptions.MinInterval || options.Interval > AiopsTraceOptions.MaxInterval)
            failures.Add($"AiopsTraceOptions.Interval {options.Interval} is out of range: expected 100 ms to 10 min");
        if (string.IsNullOrWhiteSpace(options.Node))
            failures.Add("AiopsTraceOptions.Node is empty: expected the node's name");
        if (options.Domains is null || PipelineOptions.Refusal(options.Domains) is not null)
            failures.Add($"AiopsTraceOptions.Domains '{options.Domains}' is not a grouping: expected owner, image, runtime, qos, node, label:KEY or environment");
        if (!Enum.IsDefined(options.RunQueueDetail))
            failures.Add($"AiopsTraceOptions.RunQueueDetail {(int)options.RunQueueDetail} is not a layout: expected Coarse, Full or None");
        if (options.Restarts is null || options.Restarts.MaxFailuresInARow < 1 || options.Restarts.FirstDelay < TimeSpan.Zero || options.Restarts.MaxDelay < options.Restarts.FirstDelay)
            failures.Add("AiopsTraceOptions.Restarts: expected at least one failure before giving up and delays from zero up");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
