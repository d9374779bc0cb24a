using System.Globalization;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Metrics;

namespace AIOps.Trace.Server.Engine;

/// <summary>What the API serves between two windows: immutable, replaced whole by each window.</summary>
public sealed record SidecarView(long Seq, WindowInfo? Window, IReadOnlyList<ContainerView> Containers,
    IReadOnlyDictionary<string, ContainerDetailDocument> Details)
{
    public static readonly SidecarView Empty = new(0, null, [], new Dictionary<string, ContainerDetailDocument>());
}

/// <summary>
/// Folds each window into per-container state kept since start, keeps the metrics in step and
/// returns the stream frame and the API view for it. State is bounded: a container whose cgroup
/// is gone is reported once more (<c>ended</c>), then dropped everywhere. Single-threaded: the
/// engine loop calls it.
/// </summary>
internal sealed class SidecarState(string node, SidecarMetrics metrics)
{
    private readonly Dictionary<string, ContainerState> _byId = new(StringComparer.Ordinal);

    // The id that last ran under each cgroup path: a path created again (a restarted container)
    // is another cgroup, and the id that held it before has ended although its path is live.
    private readonly Dictionary<string, string> _idOfPath = new(StringComparer.Ordinal);

    private readonly List<(double, long)> _observations = new(RunQueueBuckets.Count);

    /// <summary>Containers held (for tests of bounded state).</summary>
    public int Count => _byId.Count;

    /// <summary>Folds one window in.</summary>
    /// <param name="live">Every cgroup path that exists now: a held container absent from it has ended.</param>
    /// <param name="inputs">Each container's attributes and metric vector for the anomaly analysis (<see cref="Anomalies.WindowInputs"/>).</param>
    /// <param name="verdicts">This window's anomaly verdicts by container key, and the summaries the API shows (empty when the round failed).</param>
    public (StreamFrame Frame, SidecarView View) Apply(WindowInfo info, EngineSnapshot window,
        IReadOnlyList<ContainerDiagnosis> diagnoses, IReadOnlySet<string> live, IReadOnlyDictionary<ContainerSnapshot, ContainerInput> inputs,
        IReadOnlyDictionary<string, (Verdict Verdict, VerdictSummary Summary)> verdicts)
    {
        // Those reported as ended by the previous window go now.
        var removed = new List<string>();
        foreach (ContainerState gone in _byId.Values.Where(s => s.Ended).ToList())
        {
            _byId.Remove(gone.Id);
            if (_idOfPath.TryGetValue(gone.Cgroup, out string? holder) && holder == gone.Id)
                _idOfPath.Remove(gone.Cgroup);
            if (gone.Superseded)
                metrics.Analysis.Remove(gone.Id); // its labelled series belong to the newcomer now
            else
                metrics.Remove(gone.Id, gone.Labels, gone.Diagnosis.Select(d => KeyValuePair.Create(d.Key, d.Value.Outcome)));
            removed.Add(gone.Id);
        }

        var diagnosed = diagnoses.ToDictionary(d => d.Container); // ContainerSnapshot compares by reference
        var deltas = new List<ContainerDelta>(window.Containers.Count);
        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (ContainerSnapshot c in window.Containers)
        {
            bool known = _byId.ContainsKey(IdOf(c));
            ContainerState s = Touch(c, info.End);
            if (!touched.Add(s.Id))
                continue; // one cgroup id, one entry per window
            string? outcome = s.CpuOutcome;
            diagnosed.TryGetValue(c, out ContainerDiagnosis? d);
            if (inputs.TryGetValue(c, out ContainerInput? input))
                metrics.Analysis.SetInputs(s.Id, s.Labels, input);
            bool judged = verdicts.TryGetValue(c.CgroupPath, out var v);
            s.Verdict = judged ? v.Summary : null;
            metrics.Analysis.SetVerdict(s.Id, s.Labels, judged ? v.Verdict : null);
            bool ran = Ran(c);
            ContainerDelta delta = Fold(s, c, d, info, addToCounters: ran || !known);
            // An idle container is in the frame only when there is news: it is new, it ended, or its verdict changed.
            if (ran || !known || c.Ended || outcome != s.CpuOutcome)
                deltas.Add(delta);
        }

        // A container that did not run this window may still have gone: its cgroup says so.
        foreach (ContainerState s in _byId.Values)
        {
            if (touched.Contains(s.Id))
                continue;
            // Not in this window's round: no verdict now, and no vector, limits or info for a
            // Prometheus reader to mistake for this window's (they come back when it runs again).
            s.Verdict = null;
            metrics.Analysis.Remove(s.Id);
            if (s.Ended || live.Contains(s.Cgroup) && !s.Superseded)
                continue;
            s.Ended = true;
            deltas.Add(new ContainerDelta(s.Id, s.Cgroup, s.Name, s.Identity?.ContainerName, s.Identity?.PodName, s.Identity?.Namespace, true,
                new Dictionary<string, long>(), 0, 0, new PreemptionCounts(0, 0, 0, 0), 0, 0, 0, null, s.CpuOutcome));
        }
        metrics.Containers.Set(_byId.Count);

        var frame = new StreamFrame(info.Seq, info.End, info.WindowS, info.LostEvents, info.CutS, info.ReadAheadS, deltas, removed);
        var views = _byId.Values.OrderBy(s => s.Cgroup, StringComparer.Ordinal).Select(s => (State: s, View: s.View())).ToList();
        var details = views.ToDictionary(v => v.State.Id, v => new ContainerDetailDocument(node, info.Seq, RunQueueBuckets.BoundsMicroseconds,
            v.View, (long[])v.State.Buckets.Clone(), new Dictionary<string, ResourceDiagnosis>(v.State.Diagnosis), v.State.CpuEvidence,
            v.State.TopPreemptors), StringComparer.Ordinal);
        return (frame, new SidecarView(info.Seq, info, views.Select(v => v.View).ToList(), details));
    }

    /// <summary>The id the API names a container by: its cgroup id, or a digest of its path when the id is unknown.</summary>
    internal static string IdOf(ContainerSnapshot c) =>
        c.CgroupId != 0 ? c.CgroupId.ToString(CultureInfo.InvariantCulture)
            : "p" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(c.CgroupPath)))[..16];

    private ContainerState Touch(ContainerSnapshot c, DateTimeOffset now)
    {
        string id = IdOf(c);
        if (!_byId.TryGetValue(id, out ContainerState? s))
        {
            s = new ContainerState(id, c.CgroupPath, now);
            _byId[id] = s;
            s.Labels = [c.Identity?.ContainerName ?? c.Name, c.Identity?.PodName ?? "", c.Identity?.Namespace ?? "", c.CgroupPath];
        }
        if (_idOfPath.TryGetValue(c.CgroupPath, out string? before) && before != id && _byId.TryGetValue(before, out ContainerState? old) && !old.Superseded)
        {
            // The path was created again: the old cgroup has ended although its path is live. Its
            // series (labelled by path) are removed now, so the newcomer's start from zero and no
            // figure adds two generations (a reader sees a counter reset).
            old.Superseded = true;
            metrics.Remove(old.Id, old.Labels, old.Diagnosis.Select(d => KeyValuePair.Create(d.Key, d.Value.Outcome)));
        }
        _idOfPath[c.CgroupPath] = id;
        // The identity may be learnt later (the kubelet's files appear after the cgroup): the
        // JSON follows it, the metric labels stay as first seen.
        if (c.Identity is not null)
            s.Identity = c.Identity;
        s.Name = c.Name;
        s.Runtime = c.Runtime;
        return s;
    }

    /// <summary>Whether anything of the container ran in the window: else every figure of it is zero.</summary>
    private static bool Ran(ContainerSnapshot c) =>
        c.CpuUsageNs != 0 || c.RunQueue.Count > 0 || c.Involuntary > 0 || c.Throttling.Periods > 0 || c.Throttling.Events > 0;

    /// <param name="addToCounters">False for an idle container already exported: adding its zeros would change nothing.</param>
    private ContainerDelta Fold(ContainerState s, ContainerSnapshot c, ContainerDiagnosis? d, WindowInfo info, bool addToCounters)
    {
        var runq = new Dictionary<string, long>(StringComparer.Ordinal);
        List<(double, long)> observations = _observations; // read by AddWindow before the next container's fold
        observations.Clear();
        RunQueueBuckets.Fold(c.RunQueue, (bucket, valueNs, count) =>
        {
            s.Buckets[bucket] += count;
            string key = RunQueueBuckets.Keys[bucket];
            runq[key] = runq.GetValueOrDefault(key) + count;
            observations.Add((valueNs, count));
        });
        s.RunQueue.Add(c.RunQueue);
        s.Same += c.PreemptedBySame;
        s.Other += c.PreemptedByOther;
        s.Host += c.PreemptedByHost;
        s.Unknown += c.PreemptedByUnknown;
        ThrottlingFigures t = c.Throttling;
        long periods = Math.Max(0, t.Periods), throttledPeriods = Math.Max(0, t.ThrottledPeriods), throttledNs = Math.Max(0, t.ThrottledNs);
        long cpuNs = Math.Max(0, c.CpuUsageNs);
        s.Periods += periods;
        s.ThrottledPeriods += throttledPeriods;
        s.ThrottledNs += throttledNs;
        s.CpuNs += cpuNs;
        if (addToCounters)
            metrics.AddWindow(s.Labels, new ContainerWindow(observations, c.PreemptedBySame, c.PreemptedByOther, c.PreemptedByHost,
                c.PreemptedByUnknown, periods, throttledPeriods, throttledNs, cpuNs));

        double? cores = c.CpuUsageNs < 0 || info.WindowS <= 0 ? null : Math.Round(c.CpuUsageNs / 1e9 / info.WindowS, 3);
        var preempted = new PreemptionCounts(c.PreemptedBySame, c.PreemptedByOther, c.PreemptedByHost, c.PreemptedByUnknown);
        s.LastWindow = new WindowFigures(info.Seq, info.WindowS, c.RunQueue.Count, ContainerState.Us(c.RunQueue.ValueAtQuantile(0.5)),
            ContainerState.Us(c.RunQueue.ValueAtQuantile(0.99)), ContainerState.Us(c.RunQueue.Max), preempted,
            periods, throttledPeriods, throttledNs / 1e9, cores);
        s.TopPreemptors = c.TopPreemptors.Count == 0 ? [] : c.TopPreemptors.Select(p => new PreemptorView(p.CgroupPath, p.Count)).ToList();
        if (d is not null)
        {
            for (int i = -1; i < d.Resources.Count; i++)
            {
                ResourceDiagnosis r = i < 0 ? d.Cpu : d.Resources[i]; // d.All, without an iterator per container
                string? previous = s.Diagnosis.TryGetValue(r.Resource, out ResourceDiagnosis? p) ? p.Outcome : null;
                metrics.SetDiagnosis(s.Labels, r.Resource, previous, r.Outcome);
                s.Diagnosis[r.Resource] = r;
            }
            CpuEvidence e = d.CpuEvidence;
            s.CpuEvidence = AIOps.Trace.Contracts.CpuEvidenceDocument.From(e);
        }
        if (c.Ended)
            s.Ended = true;

        return new ContainerDelta(s.Id, s.Cgroup, s.Name, s.Identity?.ContainerName, s.Identity?.PodName, s.Identity?.Namespace, s.Ended,
            runq, c.RunQueue.Count, c.RunQueue.Sum / 1e9, preempted, periods, throttledPeriods, throttledNs / 1e9, cores, s.CpuOutcome);
    }
}
