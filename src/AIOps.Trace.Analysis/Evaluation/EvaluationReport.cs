using System.Globalization;
using System.Text;

namespace AIOps.Trace.Analysis.Evaluation;

/// <summary>The targets of the detection proof (issue 6), on held-out runs with operator labels.</summary>
public sealed record DetectionTargets(double BinaryF1 = 0.95, double MacroF1 = 0.90)
{
    /// <summary>What misses a target, one line each; empty when both are met.</summary>
    public IReadOnlyList<string> Misses(IReadOnlyList<ModeResult> results)
    {
        var misses = new List<string>();
        ModeResult binary = results.Single(r => r.Mode == DetectionEvaluation.WithLabelsBinary);
        ModeResult multiclass = results.Single(r => r.Mode == DetectionEvaluation.WithLabelsMulticlass);
        if (!(binary.BinaryF1 >= BinaryF1))
            misses.Add($"binary F1 with labels {binary.BinaryF1:0.000} < {BinaryF1:0.00}");
        if (!(multiclass.MacroF1 >= MacroF1))
            misses.Add($"multiclass macro-F1 with labels {multiclass.MacroF1:0.000} < {MacroF1:0.00}");
        return misses;
    }
}

/// <summary>The evaluation as Markdown: the data set, then each mode's scores and confusion matrix.</summary>
public static class EvaluationReport
{
    public static string Markdown(IReadOnlyList<LabelledWindow> rows, IReadOnlyList<ModeResult> results, DetectionTargets targets, string? command = null)
    {
        var md = new StringBuilder();
        int runs = rows.Select(r => r.Run).Distinct().Count();
        int episodes = rows.Select(r => (r.Run, r.Episode)).Distinct().Count();
        int windows = DetectionEvaluation.Windows(rows).Count;
        md.AppendLine(Invariant($"Detection on held-out runs: {runs} runs, {episodes} episodes, {windows} windows, {rows.Count} labelled container windows."));
        md.AppendLine("Each run is tested by detectors that learned only from the other runs (leave one run out).");
        if (command is not null)
            md.AppendLine().AppendLine($"Command: `{command}`");
        md.AppendLine().AppendLine("| label | container windows |").AppendLine("|---|---|");
        foreach (var g in rows.GroupBy(r => r.Label).OrderBy(g => g.Key == FaultKinds.None ? "" : g.Key, StringComparer.Ordinal))
            md.AppendLine(Invariant($"| {g.Key} | {g.Count()} |"));

        md.AppendLine().AppendLine("| mode | precision | recall | F1 (abnormal) | macro-F1 (kinds) | detectors that decided |").AppendLine("|---|---|---|---|---|---|");
        foreach (ModeResult r in results)
        {
            ClassScore a = r.Binary.Score(BinaryClasses.Abnormal);
            string macro = r.Multiclass is null ? "n/a: kinds need labels" : Invariant($"{r.MacroF1:0.000}");
            string detectors = string.Join(", ", r.Detectors.OrderByDescending(d => d.Value).Select(d => Invariant($"{d.Key} {d.Value}")));
            md.AppendLine(Invariant($"| {r.Mode} | {a.Precision:0.000} | {a.Recall:0.000} | {a.F1:0.000} | {macro} | {detectors} |"));
        }

        foreach (ModeResult r in results.Where(r => r.Multiclass is not null))
        {
            ConfusionMatrix m = r.Multiclass!;
            md.AppendLine().AppendLine($"Per class, {r.Mode}:").AppendLine();
            md.AppendLine("| class | precision | recall | F1 | support |").AppendLine("|---|---|---|---|---|");
            foreach (string c in m.Classes)
            {
                ClassScore s = m.Score(c);
                md.AppendLine(Invariant($"| {c} | {s.Precision:0.000} | {s.Recall:0.000} | {s.F1:0.000} | {s.Support} |"));
            }
            md.AppendLine().AppendLine("Confusion matrix (rows: truth, columns: predicted):").AppendLine();
            md.AppendLine("| truth \\ predicted | " + string.Join(" | ", m.Classes) + " |");
            md.AppendLine("|---|" + string.Concat(m.Classes.Select(_ => "---|")));
            foreach (string t in m.Classes)
                md.AppendLine($"| {t} | " + string.Join(" | ", m.Classes.Select(p => m.Count(t, p).ToString(CultureInfo.InvariantCulture))) + " |");
        }

        IReadOnlyList<string> misses = targets.Misses(results);
        md.AppendLine().AppendLine(misses.Count == 0
            ? Invariant($"Targets met: binary F1 >= {targets.BinaryF1:0.00} and multiclass macro-F1 >= {targets.MacroF1:0.00} with labels.")
            : "Targets missed: " + string.Join("; ", misses) + ".");
        return md.ToString();
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
