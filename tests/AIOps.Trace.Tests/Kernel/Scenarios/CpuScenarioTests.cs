using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// The diagnosis proven on induced faults: each scenario runs for real and the CPU tree must
/// decide its outcome. `./build.sh --target=Test` runs each once; `--target=Scenarios` runs each
/// AIOPS_SCENARIO_RUNS times (20) and prints the confusion matrix from the rows written here.
/// </summary>
[Trait("Category", "Scenario")]
public sealed class CpuScenarioTests : KernelTestBase
{
    private static readonly string[] ThrottledOutcomes =
        [Outcomes.CapThrottled, Outcomes.CpusetThrottled, Outcomes.ShareThrottled, Outcomes.PhysicalCpuThrottled];

    public static TheoryData<string> Names => new(CpuScenario.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Scenario_is_decided_right(string name)
    {
        CpuScenario scenario = CpuScenario.All.Single(s => s.Name == name);
        int runs = ScenarioRuns.Count;
        TraceEngine engine = StartEngine();
        var decided = new List<string>();
        for (int i = 0; i < runs; i++)
            decided.Add(RunOnce(engine, scenario, out string detail) + "\t" + detail);
        ScenarioRuns.Record("cpu", scenario.Name, scenario.Expected, decided);

        ScenarioRuns.AssertTarget(name, scenario.Expected, decided, ThrottledOutcomes);
    }

    private string RunOnce(TraceEngine engine, CpuScenario scenario, out string detail)
    {
        var processes = new List<Process>();
        using TestCgroup target = TestCgroup.Create("t"), neighbour = TestCgroup.Create("n");
        try
        {
            scenario.Arrange(new ScenarioSetup(target, neighbour, processes));
            Thread.Sleep(700); // workloads settle: quotas start throttling, the scheduler spreads tasks
            using var session = new TraceSession(engine, probes: []);
            Thread.Sleep(3000);
            using TraceWindow window = session.Cut();

            ContainerDiagnosis? d = WindowDiagnosis.Diagnose(window)
                .SingleOrDefault(r => r.Container.CgroupPath == target.RelativePath);
            if (d is null)
            {
                detail = "target not in the window";
                return "missing";
            }
            detail = string.Join("; ", d.Cpu.Path.Select(s => $"{s.Metric}={s.Value:0.###}")) + " | " + d.Cpu.Summary;
            return d.Cpu.Outcome;
        }
        finally
        {
            foreach (Process p in processes)
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                p.WaitForExit(5000);
                p.Dispose();
            }
        }
    }
}
