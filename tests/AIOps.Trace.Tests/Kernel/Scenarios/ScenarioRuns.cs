namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// What the scenario suites of every resource share: how many runs, the rows the Scenarios target
/// turns into one confusion matrix per resource, and the target each scenario must meet.
/// </summary>
internal static class ScenarioRuns
{
    /// <summary>AIOPS_SCENARIO_RUNS (the Scenarios target sets it, 20 by default), else 1.</summary>
    public static int Count =>
        int.TryParse(Environment.GetEnvironmentVariable("AIOPS_SCENARIO_RUNS"), out int n) && n > 0 ? n : 1;

    /// <summary>Appends "scenario, expected, decided, detail" rows to artifacts/scenarios/<paramref name="resource"/>.tsv.</summary>
    /// <param name="decided">One "outcome\tdetail" entry per run.</param>
    public static void Record(string resource, string scenario, string expected, IReadOnlyList<string> decided)
    {
        string dir = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "scenarios");
        Directory.CreateDirectory(dir);
        File.AppendAllLines(Path.Combine(dir, resource + ".tsv"), decided.Select(d => $"{scenario}\t{expected}\t{d}"));
    }

    /// <summary>
    /// The target: right in at least 19 of 20 runs (95%), and, where the expected outcome is one of
    /// <paramref name="exclusive"/> (the throttled or limited outcomes), never another of them.
    /// </summary>
    public static void AssertTarget(string scenario, string expected, IReadOnlyList<string> decided, IReadOnlyCollection<string> exclusive)
    {
        List<string> outcomes = decided.Select(d => d.Split('\t')[0]).ToList();
        int right = outcomes.Count(o => o == expected);
        Assert.True(right >= Math.Ceiling(0.95 * decided.Count), $"{scenario}: {right}/{decided.Count} decided {expected}:\n{string.Join('\n', decided)}");
        if (exclusive.Contains(expected))
            Assert.DoesNotContain(outcomes, o => o != expected && exclusive.Contains(o));
    }
}
