namespace AIOps.Trace.Diagnosis;

/// <summary>
/// One step of a reverse-diagnosis tree: the question asked, the metric that answered it, its
/// value against the threshold, and the answer. The path of steps is the evidence shown beside
/// the outcome.
/// </summary>
/// <param name="Step">The question, e.g. "throttled time rising".</param>
/// <param name="Metric">What was measured, e.g. "throttled_ms_per_s".</param>
/// <param name="Value">The measured value (NaN when the signal is missing).</param>
/// <param name="Threshold">The value at which the answer turns to yes.</param>
/// <param name="Result">The answer.</param>
public sealed record DiagnosisStep(string Step, string Metric, double Value, double Threshold, bool Result);

/// <summary>The verdict for one resource of one container: the outcome and how it was reached.</summary>
/// <param name="Resource">"cpu", "memory", "disk" or "network".</param>
/// <param name="Outcome">One of the <see cref="Outcomes"/> names.</param>
/// <param name="Path">The steps taken, in order; the last one decided.</param>
/// <param name="Summary">One sentence a person reads first.</param>
/// <param name="UndecidableReason">Why no outcome could be decided, when <see cref="Outcome"/> is "undecidable".</param>
public sealed record ResourceDiagnosis(string Resource, string Outcome, IReadOnlyList<DiagnosisStep> Path, string Summary, string? UndecidableReason = null)
{
    /// <summary>
    /// The figures the verdict was decided from (<see cref="MemoryEvidence"/>, <see cref="DiskEvidence"/>,
    /// <see cref="NetworkEvidence"/>), for callers that build metric vectors; null when undecidable
    /// for lack of readings. Not part of the JSON: the path already shows the figures that mattered.
    /// </summary>
    public object? Evidence { get; init; }
}

/// <summary>Outcome names, fixed: they are part of the JSON API.</summary>
public static class Outcomes
{
    public const string CapThrottled = "cap_throttled";
    public const string CpusetThrottled = "cpuset_throttled";
    public const string ShareThrottled = "share_throttled";
    public const string PhysicalCpuThrottled = "physical_cpu_throttled";
    public const string NotThrottled = "not_throttled";
    public const string NotThrottledDigFurther = "not_throttled_dig_further";

    public const string OomAtLimit = "oom_at_limit";
    public const string LimitReclaim = "limit_reclaim";
    public const string HighThrottled = "high_throttled";
    public const string HostPressure = "host_pressure";
    public const string NotLimited = "not_limited";

    public const string ThrottleLimited = "throttle_limited";
    public const string Contention = "contention";
    public const string DeviceSaturated = "device_saturated";

    public const string BandwidthLimited = "bandwidth_limited";

    public const string Undecidable = "undecidable";
}

/// <summary>Builds a path step by step; a tree calls <see cref="Ask"/> for each question and stops at the outcome.</summary>
internal sealed class PathBuilder
{
    private readonly List<DiagnosisStep> _steps = new();

    public IReadOnlyList<DiagnosisStep> Steps => _steps;

    /// <summary>Records "value at or above threshold?" and returns the answer.</summary>
    public bool Ask(string step, string metric, double value, double threshold)
    {
        bool result = value >= threshold;
        _steps.Add(new DiagnosisStep(step, metric, value, threshold, result));
        return result;
    }

    /// <summary>Records "value below threshold?" (e.g. "other tenants idle") and returns the answer.</summary>
    public bool AskBelow(string step, string metric, double value, double threshold)
    {
        bool result = value < threshold;
        _steps.Add(new DiagnosisStep(step, metric, value, threshold, result));
        return result;
    }

    public ResourceDiagnosis Decide(string resource, string outcome, string summary) => new(resource, outcome, _steps.ToArray(), summary);

    public ResourceDiagnosis Undecidable(string resource, string reason) =>
        new(resource, Outcomes.Undecidable, _steps.ToArray(), "cannot decide: " + reason, reason);
}
