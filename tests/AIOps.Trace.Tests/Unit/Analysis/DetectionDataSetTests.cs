using AIOps.Trace.Analysis.Detection.Svm;
using AIOps.Trace.Analysis.Evaluation;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>
/// The detection proof's evaluation on a recorded data set, written to artifacts/detection/report.md.
/// With AIOPS_DETECTION_WINDOWS set (the Detection target points it at the windows it just
/// recorded) it must meet the targets. Without, it re-scores the data set recorded on this
/// machine and kept in docs/detection/windows.tsv, and must not fall below the figures README
/// quotes for it (the evaluation is deterministic), so a change to processing or detection that
/// loses ground fails the normal test run.
/// </summary>
[Trait("Category", "DetectionReport")]
public sealed class DetectionDataSetTests
{
    /// <summary>The figures of docs/detection/report.md, rounded down to two places: binary F1 with and without labels, macro-F1.</summary>
    private static readonly (double BinaryF1, double MacroF1, double UnlabelledF1) Recorded = (0.99, 0.99, 0.88);

    [Fact]
    public void Detectors_meet_the_targets_on_held_out_runs()
    {
        Assert.True(SvmModel.IsAvailable, "libsvm.so.3 cannot be loaded: apt-get install libsvm-dev");
        string root = Kernel.StructLayoutTests.RepoRoot();
        string? given = Environment.GetEnvironmentVariable("AIOPS_DETECTION_WINDOWS");
        string path = given is { Length: > 0 } ? Path.GetFullPath(given, root) : Path.Combine(root, "docs", "detection", "windows.tsv");
        IReadOnlyList<LabelledWindow> rows = LabelledWindowsTsv.Read(path);

        IReadOnlyList<ModeResult> results = DetectionEvaluation.Evaluate(rows);
        DetectionTargets targets = given is { Length: > 0 } ? new DetectionTargets() : new DetectionTargets(Recorded.BinaryF1, Recorded.MacroF1);
        string report = EvaluationReport.Markdown(rows, results, new DetectionTargets(),
            Environment.GetEnvironmentVariable("AIOPS_DETECTION_COMMAND") is { Length: > 0 } command ? command : null);
        string output = Path.Combine(root, "artifacts", "detection", "report.md");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, report);

        Assert.True(targets.Misses(results).Count == 0, $"{path}:\n{report}");
        if (given is not { Length: > 0 })
            Assert.True(results.Single(r => r.Mode == DetectionEvaluation.WithoutLabels).BinaryF1 >= Recorded.UnlabelledF1, report);
    }
}
