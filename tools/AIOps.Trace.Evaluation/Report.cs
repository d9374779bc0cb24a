using System.Globalization;
using System.Text;
using AIOps.Trace.Analysis.Detection;

namespace AIOps.Trace.Evaluation;

/// <summary>The evaluation as Markdown: the data set, every detector's held-out scores with intervals, the breakdowns and the experiments.</summary>
public static class Report
{
    /// <param name="recording">artifacts/detection/recording.tsv's lines (block, seconds, rows, missing), when known.</param>
    public static string Markdown(BenchmarkResult r, DetectionTargets targets, string? command = null, IReadOnlyList<string>? recording = null)
    {
        var md = new StringBuilder();
        IReadOnlyList<LabelledWindow> rows = r.Rows;
        int runs = rows.Select(x => x.Run).Distinct().Count();
        var episodes = rows.GroupBy(x => x.EpisodeId).Select(g => g.First()).ToArray();
        int faultEpisodes = episodes.Count(e => FaultKinds.Faults.Contains(e.Scenario));
        md.AppendLine(I($"Detection benchmark: {runs} runs, {episodes.Length} episodes ({faultEpisodes} with faults), {DetectionEvaluation.Windows(rows).Count} domain windows, {rows.Count} labelled container windows; {rows.Select(x => x.Domain).Distinct().Count()} domains of {rows.GroupBy(x => x.Domain).Max(g => g.Select(x => x.Key).Distinct().Count())} replicas."));
        md.AppendLine(I($"Every recorded block ({rows.Select(x => x.Block).Distinct().Count()}: a test case with its own engine, domains, device and processes) is tested by detectors that learned only from the other blocks (leave one block out); intervals are 95% percentile bootstraps over whole episodes (1,000 resamples); the spread is the lowest and highest held-out block."));
        md.AppendLine("The project's labelled model learns every domain's labels at once (one model shared by every domain, on each metric's robust z-score among its window's peers), and so do the supervised baselines (on the values, their distances from the window's peer median and the same z-scores); what learns without labels learns per domain.");
        if (command is not null)
            md.AppendLine().AppendLine($"Command: `{command}`");
        if (recording is { Count: > 1 })
        {
            string[][] blocks = recording.Skip(1).Select(l => l.Split('\t')).ToArray();
            double seconds = blocks.Sum(b => double.Parse(b[1], CultureInfo.InvariantCulture));
            int missing = blocks.Sum(b => int.Parse(b[3], CultureInfo.InvariantCulture));
            md.AppendLine().AppendLine(I($"Recording: {blocks.Length} blocks, {seconds / 60:0} minutes of test time (lock waits excluded), {missing} container windows missing (a replica not diagnosed in a window)."));
        }

        md.AppendLine().AppendLine("Episodes per scenario and severity (each domain's episodes count apart):").AppendLine();
        md.AppendLine("| scenario | mild | severe | ramp | - |").AppendLine("|---|---|---|---|---|");
        foreach (var g in episodes.GroupBy(e => e.Scenario).OrderBy(g => g.Key, StringComparer.Ordinal))
            md.AppendLine(I($"| {g.Key} | {g.Count(e => e.Severity == "mild")} | {g.Count(e => e.Severity == "severe")} | {g.Count(e => e.Severity == "ramp")} | {g.Count(e => e.Severity == "-")} |"));
        int twoFaulted = rows.Where(x => x.IsAbnormal).GroupBy(x => x.EpisodeId).Count(g => g.Select(x => x.Key).Distinct().Count() >= 2);
        md.AppendLine().AppendLine(I($"{twoFaulted} fault episodes hit two replicas at once."));

        md.AppendLine().AppendLine("| detector | labels | binary F1 [95%] | blocks | macro-F1 [95%] | blocks | precision | recall |").AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (MethodResult m in r.Methods)
        {
            ClassScore a = Scores.BinaryMatrix(m.Predictions).Score(BinaryClasses.Abnormal);
            Interval b = Scores.Bootstrap(m.Predictions, macro: false);
            FoldSpread bs = Scores.PerRun(m.Predictions, macro: false);
            string macro = "n/a", macroRuns = "";
            if (m.NamesKinds)
            {
                Interval k = Scores.Bootstrap(m.Predictions, macro: true);
                FoldSpread ks = Scores.PerRun(m.Predictions, macro: true);
                macro = I($"{k.Value:0.000} [{k.Low:0.000}, {k.High:0.000}]");
                macroRuns = I($"{ks.Min:0.000}-{ks.Max:0.000}");
            }
            md.AppendLine(I($"| {m.Method} | {(m.Supervised ? "yes" : "no")} | {b.Value:0.000} [{b.Low:0.000}, {b.High:0.000}] | {bs.Min:0.000}-{bs.Max:0.000} | {macro} | {macroRuns} | {a.Precision:0.000} | {a.Recall:0.000} |"));
        }

        md.AppendLine().AppendLine("Targets on held-out episodes:").AppendLine();
        foreach (string line in Verdicts(r, targets))
            md.AppendLine("- " + line);

        md.AppendLine().AppendLine("Where each detector finds faults and raises false alarms (recall: share of faulted container windows called abnormal; false alarms: share of normal container windows called abnormal):").AppendLine();
        md.AppendLine("| detector | recall mild | severe | ramp | onset windows | false alarms: quiet | load shift | recovery | detected faults | at onset | mean windows to verdict |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (MethodResult m in r.Methods)
        {
            IReadOnlyList<Prediction> p = m.Predictions;
            double Recall(Func<LabelledWindow, bool> where) => Scores.AbnormalShare(p.Where(x => x.Row.IsAbnormal && where(x.Row)));
            double Alarms(Func<LabelledWindow, bool> where) => Scores.AbnormalShare(p.Where(x => !x.Row.IsAbnormal && where(x.Row)));
            Latency l = Scores.LatencyOf(p);
            md.AppendLine(I($"| {m.Method} | {Recall(x => x.Severity == "mild"):0.00} | {Recall(x => x.Severity == "severe"):0.00} | {Recall(x => x.Severity == "ramp"):0.00} | {Recall(x => x.Phase == EpisodePhases.Onset):0.00} | {Alarms(x => x.Scenario == FaultKinds.None || (x.Phase == EpisodePhases.Before && x.Scenario != FaultKinds.LoadShift)):0.000} | {Alarms(x => x.Scenario == FaultKinds.LoadShift && x.Phase is EpisodePhases.Onset or EpisodePhases.Fault):0.000} | {Alarms(x => x.Phase == EpisodePhases.Recovery):0.000} | {l.Detected}/{l.Faults} | {l.AtOnset} | {l.MeanWindows:0.00} |"));
        }

        md.AppendLine().AppendLine("Recall per fault kind (all severities):").AppendLine();
        string[] kinds = FaultKinds.Faults.Where(k => rows.Any(x => x.Label == k)).ToArray();
        md.AppendLine("| detector | " + string.Join(" | ", kinds) + " |").AppendLine("|---|" + string.Concat(kinds.Select(_ => "---|")));
        foreach (MethodResult m in r.Methods)
            md.AppendLine($"| {m.Method} | " + string.Join(" | ", kinds.Select(k => I($"{Scores.AbnormalShare(m.Predictions.Where(x => x.Row.Label == k)):0.00}"))) + " |");

        MethodResult withKinds = r.Method(DetectionEvaluation.WithLabelsKinds);
        ConfusionMatrix cm = Scores.KindMatrix(withKinds.Predictions);
        md.AppendLine().AppendLine($"Confusion matrix, {withKinds.Method} (rows: truth, columns: predicted):").AppendLine();
        md.AppendLine("| truth \\ predicted | " + string.Join(" | ", cm.Classes) + " |").AppendLine("|---|" + string.Concat(cm.Classes.Select(_ => "---|")));
        foreach (string t in cm.Classes.Where(c => cm.Score(c).Support > 0))
            md.AppendLine($"| {t} | " + string.Join(" | ", cm.Classes.Select(q => cm.Count(t, q).ToString(CultureInfo.InvariantCulture))) + " |");
        md.AppendLine().AppendLine("Verdicts by detector: " + string.Join("; ", r.Methods.Where(m => m.Method.StartsWith("project", StringComparison.Ordinal))
            .Select(m => m.Method + ": " + string.Join(", ", m.Detectors.OrderByDescending(d => d.Value).Select(d => I($"{d.Key} {d.Value}"))))) + ".");

        md.AppendLine().AppendLine("C, RBF width (a multiple of the median heuristic) and the binary model's decision offset per held-out block, chosen by cross-validation on that fold's training blocks only:").AppendLine();
        md.AppendLine("| held out | binary: C, width, offset, inner F1 | kinds: C, width, inner macro-F1 |").AppendLine("|---|---|---|");
        foreach (var g in r.Tunings.GroupBy(t => t.HeldOut))
        {
            Tuning b = g.Single(t => !t.Kinds), k = g.Single(t => t.Kinds);
            md.AppendLine(I($"| {g.Key} | {b.C:G3}, {b.GammaScale:G3}, {b.Offset:G3}, {b.InnerScore:0.000} | {k.C:G3}, {k.GammaScale:G3}, {k.InnerScore:0.000} |"));
        }

        md.AppendLine().AppendLine("Open set: one fault kind never labelled (its windows left out of training), the binary labelled model; recall of that kind with the peers' fallback, and counting the labelled model's own calls only:").AppendLine();
        md.AppendLine("| kind never labelled | recall | labelled model alone | binary F1, all windows |").AppendLine("|---|---|---|---|");
        foreach (OpenSetResult o in r.OpenSet)
            md.AppendLine(I($"| {o.Withheld} | {o.Recall:0.000} | {o.ModelAloneRecall:0.000} | {o.BinaryF1:0.000} |"));

        md.AppendLine().AppendLine("Label budget: labels arriving one by one through the verification store (flagged containers checked, every other label a spot check of a quiet one), then the held-out block judged; the bounded training set evicts its oldest samples when full:").AppendLine();
        md.AppendLine("| labels | capacity | evicted | binary F1 | macro-F1 | detectors |").AppendLine("|---|---|---|---|---|---|");
        foreach (BudgetPoint b in r.Budget)
            md.AppendLine(I($"| {b.Labels} | {b.Capacity} | {b.Evicted} | {b.BinaryF1:0.000} | {b.MacroF1:0.000} | {string.Join(", ", b.Detectors.OrderByDescending(d => d.Value).Select(d => I($"{d.Key} {d.Value}")))} |"));

        md.AppendLine().AppendLine("Environment-aware domains (`--domains environment`: k-medoids on Gower distance) against the true replica groups, every window of both domains partitioned together, ids carried from round to round:").AppendLine();
        md.AppendLine("| clustered on | rounds | mean ARI | worst ARI | domain id changes |").AppendLine("|---|---|---|---|---|");
        foreach (DomainsResult d in r.Domains)
            md.AppendLine(I($"| {d.Attributes} | {d.Rounds} | {d.MeanAri:0.000} | {d.MinAri:0.000} | {d.IdChanges} of {d.Memberships} |"));
        return md.ToString();
    }

    /// <summary>One line per target: met or missed by how much, and which baseline is ahead where one is.</summary>
    public static IReadOnlyList<string> Verdicts(BenchmarkResult r, DetectionTargets t)
    {
        var lines = new List<string>();
        void Check(string what, string method, bool macro, double target, IEnumerable<MethodResult> rivals)
        {
            MethodResult m = r.Method(method);
            Interval v = Scores.Bootstrap(m.Predictions, macro);
            string line = v.Value >= target
                ? I($"{what} {v.Value:0.000} [{v.Low:0.000}, {v.High:0.000}] >= {target:0.00}: met")
                : I($"{what} {v.Value:0.000} [{v.Low:0.000}, {v.High:0.000}] < {target:0.00}: missed by {target - v.Value:0.000}");
            var ahead = rivals.Select(b => (b.Method, Score: macro ? Scores.MacroF1(b.Predictions) : Scores.BinaryF1(b.Predictions)))
                .Where(b => b.Score >= v.Value).ToList();
            line += ahead.Count == 0 ? "; ahead of every baseline" : "; NOT ahead of " + string.Join(", ", ahead.Select(b => I($"{b.Method} ({b.Score:0.000})")));
            if (v.Value < target)
                line += "; why: " + Why(m, macro);
            lines.Add(line);
        }
        var baselines = r.Methods.Where(m => !m.Method.StartsWith("project", StringComparison.Ordinal)).ToList();
        Check("binary F1 with labels", DetectionEvaluation.WithLabelsBinary, false, t.BinaryF1, baselines);
        Check("macro-F1 with labels", DetectionEvaluation.WithLabelsKinds, true, t.MacroF1, baselines.Where(b => b.NamesKinds));
        Check("binary F1 without labels", DetectionEvaluation.WithoutLabels, false, t.UnlabelledF1, baselines.Where(b => !b.Supervised));
        return lines;
    }

    /// <summary>
    /// What keeps a detector under its target, from its own held-out calls: recall by severity and
    /// its weakest fault kinds, the share of normal windows it calls abnormal, and for kinds the
    /// weakest per-kind F1.
    /// </summary>
    public static string Why(MethodResult m, bool macro)
    {
        Prediction[] faults = m.Predictions.Where(p => p.Row.IsAbnormal).ToArray();
        Prediction[] normal = m.Predictions.Where(p => !p.Row.IsAbnormal).ToArray();
        double Recall(IEnumerable<Prediction> p) => p.DefaultIfEmpty().Average(x => x is not null && x.Call.Abnormal ? 1.0 : 0.0);
        string bySeverity = string.Join(", ", new[] { "severe", "ramp", "mild" }
            .Where(s => faults.Any(p => p.Row.Severity == s))
            .Select(s => I($"{s} {Recall(faults.Where(p => p.Row.Severity == s)):0.00}")));
        string weakest = string.Join(", ", faults.GroupBy(p => p.Row.Label).Select(g => (Kind: g.Key, Recall: Recall(g)))
            .OrderBy(k => k.Recall).ThenBy(k => k.Kind, StringComparer.Ordinal).Take(2).Select(k => I($"{k.Kind} {k.Recall:0.00}")));
        string text = I($"fault windows found {Recall(faults):0.00} (by severity: {bySeverity}; weakest kinds: {weakest}), normal windows called abnormal {Recall(normal):0.000} ({normal.Count(p => p.Call.Abnormal)} against {faults.Count(p => p.Call.Abnormal)} faults found)");
        if (macro)
        {
            ConfusionMatrix cm = Scores.KindMatrix(m.Predictions);
            text += "; weakest kind F1: " + string.Join(", ", FaultKinds.Faults.Where(k => cm.Score(k).Support > 0).Select(k => (Kind: k, cm.Score(k).F1))
                .OrderBy(k => k.F1).ThenBy(k => k.Kind, StringComparer.Ordinal).Take(3).Select(k => I($"{k.Kind} {k.F1:0.00}")));
        }
        return text;
    }

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
