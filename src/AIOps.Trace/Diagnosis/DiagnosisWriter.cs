using System.Globalization;

namespace AIOps.Trace.Diagnosis;

/// <summary>Shows a diagnosis the way a person reads it (outcome first, then the path); the JSON form is <see cref="Contracts.DiagnosisDocument"/>.</summary>
public static class DiagnosisWriter
{
    /// <summary>
    /// The wizard view: the outcome, then each question indented one level deeper than the one
    /// before, with the metric, its value, the threshold and the answer.
    /// </summary>
    public static void WriteText(TextWriter o, ResourceDiagnosis d, string indent = "  ")
    {
        o.WriteLine($"{indent}{d.Resource}: {d.Outcome.ToUpperInvariant()}  {d.Summary}");
        for (int i = 0; i < d.Path.Count; i++)
        {
            DiagnosisStep s = d.Path[i];
            string pad = indent + new string(' ', 2 * (i + 1));
            o.WriteLine($"{pad}{(s.Result ? "yes" : "no "),-3} {s.Step}? {s.Metric} = {Number(s.Value)} (threshold {Number(s.Threshold)})");
            if (DiagnosisGuide.Step(d.Resource, s.Metric) is { } g)
                o.WriteLine($"{pad}    from {g.Source}; {(s.Result ? "no" : "yes")} would have led to: {(s.Result ? g.IfNo : g.IfYes)}");
        }
        if (d.Outcome == Outcomes.Undecidable && d.UndecidableReason is not null)
            o.WriteLine($"{indent}  undecidable: {d.UndecidableReason}");
        OutcomeGuide guide = DiagnosisGuide.For(d.Resource, d.Outcome);
        if (guide.Severity > 0)
        {
            o.WriteLine($"{indent}  next step: {guide.NextStep}");
            o.WriteLine($"{indent}  check: {guide.CheckNext}");
        }
    }

    /// <summary>The host's answer first: the headline, then each affected container's sentence and next step, worst first.</summary>
    public static void WriteText(TextWriter o, HostAnswer answer, int rows = 10)
    {
        o.WriteLine(answer.Headline);
        foreach (AffectedContainer a in answer.Worst.Take(rows))
            o.WriteLine($"  {a.Resource,-7} {a.Outcome,-26} {a.Sentence}; next: {a.NextStep}");
        if (answer.Worst.Count > rows)
            o.WriteLine($"  ... and {answer.Worst.Count - rows} more");
    }

    private static string Number(double v) =>
        !double.IsFinite(v) ? "n/a" : v.ToString(Math.Abs(v) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture);
}
