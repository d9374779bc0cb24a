using System.Globalization;
using System.Text.Json;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Partitioning;

namespace AIOps.Trace.Cli;

/// <summary>
/// One analysis round as `analyze --once` prints it: per domain, abnormal verdicts first, each
/// with its node, score, the metrics that set it apart, the diagnosis beside it, its peers and why
/// it is in the domain; as text or as one JSON document.
/// </summary>
internal static class VerdictReport
{
    /// <summary>The node of a container, as the round's inputs named it.</summary>
    public delegate string? NodeOf(string key);

    public static void WriteText(TextWriter o, string source, AnalysisRound round, NodeOf nodeOf)
    {
        int nodes = round.Verdicts.Select(v => nodeOf(v.Key)).Distinct().Count();
        int abnormal = round.Verdicts.Count(v => v.IsAbnormal);
        o.WriteLine($"{source}: {round.Verdicts.Count} containers on {nodes} node(s) in {round.Domains.Count} domain(s), " +
            $"{abnormal} abnormal, at {round.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
        foreach (DomainSummary d in Ordered(round))
        {
            o.WriteLine();
            o.WriteLine($"domain {d.Id}: {d.Members.Count} containers, {d.Abnormal} abnormal, detector {d.Detector} ({d.DetectorReason})");
            foreach (Verdict v in VerdictsOf(round, d.Id))
            {
                string score = double.IsNaN(v.Score) ? "-" : v.Score.ToString("0.00", CultureInfo.InvariantCulture);
                o.WriteLine($"  {v.Status,-17} {v.Key}  node {nodeOf(v.Key) ?? "?"}  score {score}  {v.Peers.Count} peers" +
                    (v.Diagnosis is null ? "" : $"  diagnosis {v.Diagnosis}"));
                if (v.OffMetrics.Count > 0)
                    o.WriteLine("    off: " + string.Join(", ", v.OffMetrics.Select(m =>
                        FormattableString.Invariant($"{m.Metric} {m.Value:0.###} (peers {m.Reference:0.###}, z {m.Z:0.#})"))));
                if (v.Status != VerdictStatus.Normal && v.Reason is not null)
                    o.WriteLine("    why: " + v.Reason);
                if (round.Partition.Memberships.TryGetValue(v.Key, out Membership? m))
                    o.WriteLine("    in domain: " + m.Explanation);
            }
        }
    }

    public static void WriteJson(Stream stdout, string source, AnalysisRound round, NodeOf nodeOf)
    {
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("source", source);
        w.WriteNumber("seq", round.Seq);
        w.WriteString("at", round.At);
        w.WriteStartArray("domains");
        foreach (DomainSummary d in Ordered(round))
        {
            w.WriteStartObject();
            w.WriteString("id", d.Id);
            w.WriteString("detector", d.Detector);
            w.WriteString("detector_reason", d.DetectorReason);
            w.WriteNumber("training_samples", d.TrainingSamples);
            w.WriteNumber("verified_samples", d.VerifiedSamples);
            w.WriteNumber("abnormal", d.Abnormal);
            w.WriteStartArray("verdicts");
            foreach (Verdict v in VerdictsOf(round, d.Id))
                WriteVerdict(w, v, nodeOf(v.Key), round.Partition.Memberships.GetValueOrDefault(v.Key));
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteVerdict(Utf8JsonWriter w, Verdict v, string? node, Membership? membership)
    {
        w.WriteStartObject();
        w.WriteString("key", v.Key);
        w.WriteString("node", node);
        w.WriteString("status", v.Status);
        WriteNumber(w, "score", v.Score);
        w.WriteString("detector", v.Detector);
        w.WriteString("kind", v.Kind);
        w.WriteString("diagnosis", v.Diagnosis);
        w.WriteString("reason", v.Reason);
        w.WriteStartArray("off_metrics");
        foreach (OffMetric m in v.OffMetrics)
        {
            w.WriteStartObject();
            w.WriteString("metric", m.Metric);
            WriteNumber(w, "value", m.Value);
            WriteNumber(w, "reference", m.Reference);
            WriteNumber(w, "z", m.Z);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("missing_metrics");
        foreach (string m in v.MissingMetrics ?? [])
            w.WriteStringValue(m);
        w.WriteEndArray();
        w.WriteStartArray("peers");
        foreach (string p in v.Peers)
            w.WriteStringValue(p);
        w.WriteEndArray();
        w.WriteString("membership", membership?.Explanation);
        w.WriteEndObject();
    }

    /// <summary>JSON has no NaN or infinity: those are null.</summary>
    private static void WriteNumber(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
            w.WriteNumber(name, Math.Round(value, 4));
        else
            w.WriteNull(name);
    }

    /// <summary>Domains with abnormal members first, then by size.</summary>
    private static IEnumerable<DomainSummary> Ordered(AnalysisRound round) =>
        round.Domains.OrderByDescending(d => d.Abnormal > 0).ThenByDescending(d => d.Members.Count).ThenBy(d => d.Id, StringComparer.Ordinal);

    /// <summary>A domain's verdicts: abnormal first, most abnormal first.</summary>
    private static IEnumerable<Verdict> VerdictsOf(AnalysisRound round, string domain) =>
        round.Verdicts.Where(v => v.Domain == domain)
            .OrderByDescending(v => v.IsAbnormal)
            .ThenByDescending(v => double.IsNaN(v.Score) ? double.NegativeInfinity : v.Score)
            .ThenBy(v => v.Key, StringComparer.Ordinal);
}
