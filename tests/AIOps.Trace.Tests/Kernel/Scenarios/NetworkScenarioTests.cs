using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// The network diagnosis proven on induced faults: each scenario builds a container namespace,
/// a veth to a peer and real TCP traffic, and the probe registered in ResourceProbes.Default must
/// decide its outcome from the kernel's counters over a 3-second window. `./build.sh
/// --target=Test` runs each once; `--target=Scenarios` runs each AIOPS_SCENARIO_RUNS times (20)
/// and prints the confusion matrix from the rows written here.
/// </summary>
[Trait("Category", "Scenario")]
public sealed class NetworkScenarioTests : KernelTestBase
{
    private const double WindowSeconds = 3;

    public static TheoryData<string> Names => new(NetworkScenario.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Scenario_is_decided_right(string name)
    {
        NetworkScenario scenario = NetworkScenario.All.Single(s => s.Name == name);
        int runs = ScenarioRuns.Count;
        IResourceProbe probe = ResourceProbes.Default(new ResourceProbeContext(CgroupMounts.Discover(), "/"))
            .Single(p => p.Resource == NetworkDiagnosis.Resource);
        var decided = new List<string>();
        for (int i = 0; i < runs; i++)
            decided.Add(RunOnce(probe, scenario, out string detail) + "\t" + detail);
        ScenarioRuns.Record("network", scenario.Name, scenario.Expected, decided);

        Assert.Empty(NetworkLab.Leftovers());
        ScenarioRuns.AssertTarget(name, scenario.Expected, decided, []);
    }

    private static string RunOnce(IResourceProbe probe, NetworkScenario scenario, out string detail)
    {
        using TestCgroup container = TestCgroup.Create("net");
        using NetworkLab lab = NetworkLab.Create();
        Process? workload = null;
        try
        {
            scenario.Arrange(lab);
            workload = container.Start(scenario.Workload(lab));
            Thread.Sleep(1000); // TCP leaves slow start and the shaper's queue fills
            var sampler = new ResourceSampler([probe]);
            sampler.Baseline([container.RelativePath]);
            Thread.Sleep(TimeSpan.FromSeconds(WindowSeconds));
            ResourceDiagnosis? d = sampler.Sample([container.RelativePath], WindowSeconds)[container.RelativePath].SingleOrDefault();
            if (d is null)
            {
                detail = "no reading: the workload's cgroup or task had gone";
                return "missing";
            }
            detail = string.Join("; ", d.Path.Select(s => $"{s.Metric}={s.Value:0.###}")) + " | " + d.Summary;
            return d.Outcome;
        }
        finally
        {
            if (workload is not null)
            {
                try { workload.Kill(); } catch (InvalidOperationException) { }
                workload.WaitForExit(5000);
                workload.Dispose();
            }
        }
    }
}
