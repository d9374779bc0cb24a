using System.Text.Json;
using System.Text.Json.Serialization;
using AIOps.Trace.Contracts;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Server.Api;

// The JSON contract of the HTTP API (docs/http-api.md). Property names are part of the API:
// change them only together with docs/http-api.md and the dashboard.

/// <summary>GET /api/v1/containers.</summary>
public sealed record ContainerList(string Node, long Seq, double IntervalS, WindowInfo? Window, EngineInfo Engine,
    long[] BoundsUs, IReadOnlyList<ContainerView> Containers);

/// <summary>GET /api/v1/containers/{id}: the list entry, its cumulative histogram (one count per bucket of <c>bounds_us</c>, then the one above) and every resource's diagnosis.</summary>
public sealed record ContainerDetailDocument(string Node, long Seq, long[] BoundsUs, ContainerView Container, long[] RunqBuckets,
    IReadOnlyDictionary<string, ResourceDiagnosis> Diagnosis, CpuEvidenceDocument? CpuEvidence, IReadOnlyList<PreemptorView> TopPreemptors);

/// <summary>The last window the engine cut.</summary>
/// <param name="CutS">How long cutting and diagnosing the window took.</param>
/// <param name="ReadAheadS">How long reading ahead for it took: the readings and tree scan due at its cut, taken between the previous cut and it (0 when every window reads every container).</param>
public sealed record WindowInfo(long Seq, DateTimeOffset End, double WindowS, long LostEvents, int Cpus, double HostIdleRatio, double CutS, double ReadAheadS = 0);

/// <summary>The engine's own health.</summary>
public sealed record EngineInfo(string Mode, string Attach, string Ring, string ThrottleSource, int AttachedPrograms, bool Ready,
    long Windows, long LostEventsTotal, long ReaderFailures, string? Failure, int StreamClients, long StreamDroppedFramesTotal,
    DateTimeOffset Started, long SkippedEventsTotal = 0);

/// <summary>Preemptions by who preempted.</summary>
public sealed record PreemptionCounts(long Same, long Other, long Host, long Unknown);

/// <summary>One container over the last window it was seen in.</summary>
public sealed record WindowFigures(long Seq, double WindowS, long RunqCount, double RunqP50Us, double RunqP99Us, double RunqMaxUs,
    PreemptionCounts Preempted, long Periods, long ThrottledPeriods, double ThrottledS, double? CpuUsageCores);

/// <summary>One container since the sidecar started (sums of every window).</summary>
public sealed record CumulativeFigures(long RunqCount, double RunqSumS, double RunqP50Us, double RunqP99Us,
    PreemptionCounts Preempted, long Periods, long ThrottledPeriods, double ThrottledS, double CpuS);

/// <summary>One container as GET /api/v1/containers lists it.</summary>
public sealed record ContainerView(string Id, string Cgroup, string Name, string Runtime, string? Container, string? ContainerId,
    string? Pod, string? PodUid, string? Namespace, string? Qos, string? Image, bool Ended, DateTimeOffset FirstSeen,
    WindowFigures? LastWindow, CumulativeFigures Cumulative, string? CpuOutcome, VerdictSummary? Verdict);

public sealed record PreemptorView(string Cgroup, long Count);

/// <summary>The stream's first event.</summary>
public sealed record HelloEvent(string Node, long Seq, double IntervalS, long[] BoundsUs);

/// <summary>One stream frame without the per-client <c>dropped_frames</c>, which each client's writer splices in.</summary>
/// <param name="CutS">How long cutting and diagnosing the window took (<see cref="WindowInfo.CutS"/>).</param>
/// <param name="ReadAheadS">How long reading ahead for this window took, between the previous cut and its own (<see cref="WindowInfo.ReadAheadS"/>).</param>
public sealed record StreamFrame(long Seq, DateTimeOffset T, double WindowS, long LostEvents, double CutS, double ReadAheadS, IReadOnlyList<ContainerDelta> Containers,
    IReadOnlyList<string> Removed);

/// <summary>What one container did in one window: sparse run-queue bucket deltas (index -> count) and counter deltas.</summary>
public sealed record ContainerDelta(string Id, string Cgroup, string Name, string? Container, string? Pod, string? Namespace, bool Ended,
    IReadOnlyDictionary<string, long> Runq, long RunqCount, double RunqSumS, PreemptionCounts Preempted,
    long Periods, long ThrottledPeriods, double ThrottledS, double? CpuUsageCores, string? CpuOutcome);

/// <summary>Every error: {"error": "..."}.</summary>
public sealed record ApiError(string Error);

/// <summary>Writes a diagnosis as its one contract, <see cref="DiagnosisDocument"/> (the shape diagnose --json writes too).</summary>
public sealed class ResourceDiagnosisConverter : JsonConverter<ResourceDiagnosis>
{
    public override ResourceDiagnosis Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("the API only writes diagnoses");

    public override void Write(Utf8JsonWriter writer, ResourceDiagnosis value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, DiagnosisDocument.From(value), TraceJson.Default.DiagnosisDocument);
}

/// <summary>Source-generated serialization (no reflection, NativeAOT-safe), snake_case names.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(ResourceDiagnosisConverter)])]
[JsonSerializable(typeof(ContainerList))]
[JsonSerializable(typeof(ContainerDetailDocument))]
[JsonSerializable(typeof(HelloEvent))]
[JsonSerializable(typeof(StreamFrame))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(SummaryDocument))]
[JsonSerializable(typeof(WizardDocument))]
[JsonSerializable(typeof(VerdictsDocument))]
[JsonSerializable(typeof(DomainsDocument))]
[JsonSerializable(typeof(LabelRequest))]
[JsonSerializable(typeof(StoredVerdictView))]
public sealed partial class ApiJson : JsonSerializerContext;
