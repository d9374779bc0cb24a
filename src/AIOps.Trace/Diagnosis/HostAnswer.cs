using System.Globalization;

namespace AIOps.Trace.Diagnosis;

/// <summary>One container's verdicts for one window, as <see cref="HostAnswer.Build"/> reads them.</summary>
/// <param name="Id">The container's stable id (the API's).</param>
/// <param name="Name">Its display name.</param>
/// <param name="Diagnoses">Its verdict per resource ("cpu", "memory", "disk", "network").</param>
public sealed record ContainerVerdicts(string Id, string Name, IReadOnlyDictionary<string, ResourceDiagnosis> Diagnoses);

/// <summary>How many containers one outcome holds.</summary>
public sealed record OutcomeCount(string Resource, string Outcome, string Label, int Severity, int Containers);

/// <summary>A container whose worst verdict needs attention, in one sentence with its key figure and next step.</summary>
/// <param name="Severity">See <see cref="OutcomeGuide.Severity"/>.</param>
/// <param name="KeyFigure">The figure that decided it, in words ("42 ms/s throttled").</param>
/// <param name="KeyValue">That figure's value, for sorting containers with the same outcome.</param>
public sealed record AffectedContainer(string Id, string Name, string Resource, string Outcome, string Label, int Severity,
    string Sentence, string KeyFigure, double KeyValue, string NextStep);

/// <summary>
/// The host's answer, worst first: how many containers are held back, by which outcome, each in
/// one sentence with its key figure and the suggested next step. The dashboard opens with it and
/// <c>diagnose</c> prints it before the containers.
/// </summary>
/// <param name="Containers">Containers decided in the window.</param>
/// <param name="Affected">Containers whose worst verdict has severity 1 or more (held back, or worth a look).</param>
/// <param name="Undecided">Containers with some resource undecidable and nothing worse.</param>
/// <param name="Headline">One sentence for the whole host.</param>
public sealed record HostAnswer(int Containers, int Affected, int Undecided, string Headline,
    IReadOnlyList<OutcomeCount> ByOutcome, IReadOnlyList<AffectedContainer> Worst)
{
    /// <summary>Resources in the order a tie is broken: CPU first, the project's first question.</summary>
    private static readonly string[] ResourceOrder = ["cpu", "memory", "disk", "network"];

    /// <summary>Builds the answer in one pass over the containers (linear in their number, plus sorting the affected).</summary>
    public static HostAnswer Build(IEnumerable<ContainerVerdicts> containers)
    {
        var worst = new List<AffectedContainer>();
        var counts = new Dictionary<(string, string), int>();
        int total = 0, undecided = 0;
        foreach (ContainerVerdicts c in containers)
        {
            total++;
            (string Resource, ResourceDiagnosis Diagnosis, OutcomeGuide Guide)? pick = null;
            bool anyUndecidable = false;
            foreach (string resource in ResourceOrder)
            {
                if (!c.Diagnoses.TryGetValue(resource, out ResourceDiagnosis? d))
                    continue;
                if (d.Outcome == Outcomes.Undecidable)
                {
                    anyUndecidable = true;
                    continue;
                }
                OutcomeGuide g = DiagnosisGuide.For(resource, d.Outcome);
                if (pick is null || g.Severity > pick.Value.Guide.Severity)
                    pick = (resource, d, g);
            }
            if (pick is not { Guide.Severity: > 0 } p)
            {
                if (anyUndecidable)
                    undecided++;
                continue;
            }
            (string figure, double value) = KeyFigure(p.Resource, p.Diagnosis);
            var key = (p.Resource, p.Diagnosis.Outcome);
            counts[key] = counts.GetValueOrDefault(key) + 1;
            worst.Add(new AffectedContainer(c.Id, c.Name, p.Resource, p.Diagnosis.Outcome, p.Guide.Label, p.Guide.Severity,
                $"{c.Name} is {p.Guide.Label}: {figure}", figure, value, p.Guide.NextStep));
        }
        worst.Sort((a, b) => b.Severity != a.Severity ? b.Severity.CompareTo(a.Severity)
            : b.KeyValue != a.KeyValue ? b.KeyValue.CompareTo(a.KeyValue)
            : string.CompareOrdinal(a.Name, b.Name));
        List<OutcomeCount> byOutcome = counts
            .Select(kv => new OutcomeCount(kv.Key.Item1, kv.Key.Item2, DiagnosisGuide.For(kv.Key.Item1, kv.Key.Item2).Label,
                DiagnosisGuide.For(kv.Key.Item1, kv.Key.Item2).Severity, kv.Value))
            .OrderByDescending(o => o.Severity).ThenByDescending(o => o.Containers).ThenBy(o => o.Outcome, StringComparer.Ordinal)
            .ToList();
        return new HostAnswer(total, worst.Count, undecided, HeadlineFor(total, worst, undecided), byOutcome, worst);
    }

    private static string HeadlineFor(int total, List<AffectedContainer> worst, int undecided)
    {
        string of = total == 1 ? "1 container" : $"{total} containers";
        string undecidedNote = undecided > 0 ? $" ({undecided} with a resource undecidable)" : "";
        if (total == 0)
            return "No container has been decided yet.";
        if (worst.Count == 0)
            return $"All {of} look healthy: no CPU, memory, disk or network limit holds one back{undecidedNote}.";
        AffectedContainer first = worst[0];
        string what = first.Resource switch
        {
            "cpu" => "slow on CPU",
            "memory" => "held back by memory",
            "disk" => "held back by disk I/O",
            _ => "held back by the network",
        };
        string verb = worst.Count == 1 ? "is" : "are";
        string lead = worst.Count == 1 ? $"1 of {total} containers is {what}" : $"{worst.Count} of {total} containers {verb} held back";
        string more = worst.Count > 1 ? $"; worst: {first.Name} is {first.Label}" : $": {first.Name} is {first.Label}";
        return lead + more + " (" + first.KeyFigure + ")" + undecidedNote + ".";
    }

    /// <summary>
    /// The figure that says how bad it is: for a CPU limit the throttled time or the time spent
    /// waiting to run, elsewhere the figure of the question that decided the outcome.
    /// </summary>
    internal static (string Text, double Value) KeyFigure(string resource, ResourceDiagnosis d)
    {
        DiagnosisStep? Find(string metric) => d.Path.LastOrDefault(s => s.Metric == metric);
        if (resource == "cpu")
        {
            if (d.Outcome == Outcomes.CapThrottled && Find("throttled_ms_per_s") is { } t)
                return (Fmt(t.Value) + " ms/s throttled", t.Value);
            if (Find("runq_wait_ms_per_s") is { } w)
                return (Fmt(w.Value) + " ms/s waiting to run", w.Value);
        }
        DiagnosisStep? decided = d.Path.Count > 0 ? d.Path[^1] : null;
        return decided is null ? (d.Summary, 0) : (Describe(decided), double.IsFinite(decided.Value) ? decided.Value : 0);
    }

    /// <summary>A step's figure in words: the metric name and its value.</summary>
    public static string Describe(DiagnosisStep s) => s.Metric.Replace('_', ' ') + " " + Fmt(s.Value);

    private static string Fmt(double v) =>
        !double.IsFinite(v) ? "n/a" : v.ToString(Math.Abs(v) >= 100 ? "0" : Math.Abs(v) >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture);
}
