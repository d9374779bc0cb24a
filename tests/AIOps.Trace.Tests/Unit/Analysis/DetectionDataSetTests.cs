using AIOps.Trace.Analysis.Detection.Svm;
using AIOps.Trace.Evaluation;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>
/// docs/detection/report.md is what the evaluation makes of docs/detection/windows.tsv (and the
/// recording log beside it), to the character: a change to processing, detection or the
/// evaluation that moves a figure fails here until the report is regenerated
/// (`./build.sh --target=Detection` re-scores the committed recording into artifacts/detection/report.md).
/// </summary>
[Trait("Category", "DetectionReport")]
public sealed class DetectionDataSetTests
{
    [Fact]
    public void Committed_report_is_a_rescore_of_the_committed_recording()
    {
        Assert.True(SvmModel.IsAvailable, "libsvm.so.3 cannot be loaded: apt-get install libsvm-dev");
        string docs = Path.Combine(Kernel.StructLayoutTests.RepoRoot(), "docs", "detection");
        string committed = File.ReadAllText(Path.Combine(docs, "report.md"));
        IReadOnlyList<LabelledWindow> rows = LabelledWindowsTsv.Read(Path.Combine(docs, "windows.tsv"));
        string recording = Path.Combine(docs, "recording.tsv");

        string report = Report.Markdown(Benchmark.Run(rows), new DetectionTargets(), CommandOf(committed),
            File.Exists(recording) ? File.ReadAllLines(recording) : null);
        string output = Path.Combine(Kernel.StructLayoutTests.RepoRoot(), "artifacts", "detection", "rescore.md");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, report);

        Assert.True(committed.ReplaceLineEndings("\n") == report.ReplaceLineEndings("\n"),
            $"docs/detection/report.md differs from a re-score of docs/detection/windows.tsv (written to {output}); regenerate it with ./build.sh --target=Detection");
    }

    [Fact]
    public void README_quotes_the_committed_report()
    {
        string root = Kernel.StructLayoutTests.RepoRoot();
        string report = File.ReadAllText(Path.Combine(root, "docs", "detection", "report.md"));
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int start = readme.IndexOf("`./build.sh --target=Detection` (", StringComparison.Ordinal);
        Assert.True(start >= 0, "README's last measured runs have no Detection entry");
        string entry = readme[start..readme.IndexOf("\n- ", start, StringComparison.Ordinal)];
        string[] figures = System.Text.RegularExpressions.Regex.Matches(entry, @"\b0\.\d{3}\b").Select(m => m.Value).ToArray();
        Assert.True(figures.Length >= 7, $"expected README's Detection entry to quote the report's F1 figures, found {figures.Length}");
        Assert.All(figures, f => Assert.Contains(f, report));
    }

    /// <summary>The command the committed report names (its "Command: `...`" line), or null.</summary>
    private static string? CommandOf(string report)
    {
        const string prefix = "Command: `";
        string? line = report.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : line[prefix.Length..line.TrimEnd().LastIndexOf('`')];
    }
}
