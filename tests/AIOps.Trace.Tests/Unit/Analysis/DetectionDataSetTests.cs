using AIOps.Trace.Analysis.Detection.Svm;
using AIOps.Trace.Analysis.Evaluation;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>
/// The detection proof's evaluation on a recorded data set: AIOPS_DETECTION_WINDOWS when set (the
/// Detection target points it at the windows it just recorded), else the data set recorded on
/// this machine and kept in docs/detection/windows.tsv, so every test run checks the detectors
/// still meet the targets on it. Writes artifacts/detection/report.md.
/// </summary>
[Trait("Category", "DetectionReport")]
public sealed class DetectionDataSetTests
{
    [Fact]
    public void Detectors_meet_the_targets_on_held_out_runs()
    {
        Assert.True(SvmModel.IsAvailable, "libsvm.so.3 cannot be loaded: apt-get install libsvm-dev");
        string root = Kernel.StructLayoutTests.RepoRoot();
        string path = Environment.GetEnvironmentVariable("AIOPS_DETECTION_WINDOWS") is { Length: > 0 } given
            ? Path.GetFullPath(given, root)
            : Path.Combine(root, "docs", "detection", "windows.tsv");
        IReadOnlyList<LabelledWindow> rows = LabelledWindowsTsv.Read(path);

        IReadOnlyList<ModeResult> results = DetectionEvaluation.Evaluate(rows);
        var targets = new DetectionTargets();
        string report = EvaluationReport.Markdown(rows, results, targets,
            Environment.GetEnvironmentVariable("AIOPS_DETECTION_COMMAND") is { Length: > 0 } command ? command : null);
        string output = Path.Combine(root, "artifacts", "detection", "report.md");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, report);

        Assert.True(targets.Misses(results).Count == 0, $"{path}:\n{report}");
    }
}
