using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// The memory diagnosis proven on induced faults in real v1 memory cgroups: each scenario runs
/// for real and the memory tree, fed by the probe <see cref="ResourceProbes.Default"/> registers,
/// must decide its outcome. Runs AIOPS_SCENARIO_RUNS times (default 1) and appends the rows the
/// Scenarios target turns into the memory confusion matrix.
/// </summary>
[Trait("Category", "Scenario")]
public sealed class MemoryScenarioTests : KernelTestBase
{
    private static readonly string[] LimitedOutcomes =
        [Outcomes.OomAtLimit, Outcomes.LimitReclaim, Outcomes.HighThrottled, Outcomes.HostPressure];

    public static TheoryData<string> Names => new(MemoryScenario.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Scenario_is_decided_right(string name)
    {
        MemoryScenario scenario = MemoryScenario.All.Single(s => s.Name == name);
        int runs = ScenarioRuns.Count;
        TraceEngine engine = StartEngine();
        var decided = new List<string>();
        for (int i = 0; i < runs; i++)
            decided.Add(RunOnce(engine, scenario, out string detail) + "\t" + detail);
        ScenarioRuns.Record("memory", scenario.Name, scenario.Expected, decided);

        ScenarioRuns.AssertTarget(name, scenario.Expected, decided, LimitedOutcomes);
    }

    private string RunOnce(TraceEngine engine, MemoryScenario scenario, out string detail)
    {
        var processes = new List<Process>();
        // On the root file system, not tmpfs: tmpfs reads holes from the shared zero page and
        // would charge nothing to the cgroup.
        string sparse = $"/var/tmp/aiops-memory-scenario-{Guid.NewGuid():N}";
        using TestCgroup target = TestCgroup.Create("t"), neighbour = TestCgroup.Create("n");
        try
        {
            using (var f = new FileStream(sparse, FileMode.CreateNew))
                f.SetLength(MemoryScenario.SparseFileBytes);
            scenario.Arrange(new ScenarioSetup(target, neighbour, processes), sparse);
            Thread.Sleep(700); // workloads reach their limits
            using var session = new TraceSession(engine);
            Thread.Sleep(3000);
            using TraceWindow window = session.Cut();

            ResourceDiagnosis? memory = WindowDiagnosis.Diagnose(window)
                .SingleOrDefault(r => r.Container.CgroupPath == target.RelativePath)?.For(MemoryDiagnosis.Resource);
            if (memory is null)
            {
                detail = "target not in the window, or no memory verdict";
                return "missing";
            }
            detail = string.Join("; ", memory.Path.Select(s => $"{s.Metric}={s.Value:0.###}")) + " | " + memory.Summary;
            return memory.Outcome;
        }
        finally
        {
            // The workload may have been OOM-killed already: killing what is left must not throw.
            foreach (Process p in processes)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit(5000);
                p.Dispose();
            }
            File.Delete(sparse);
        }
    }
}
