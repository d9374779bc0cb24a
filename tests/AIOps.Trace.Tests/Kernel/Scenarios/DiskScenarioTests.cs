using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// The disk diagnosis proven on induced faults: each scenario runs fio for real on a loop device
/// and the disk probe and tree, as `aiops-trace diagnose` runs them, must decide its outcome.
/// `./build.sh --target=Test` runs each once; `--target=Scenarios` runs each AIOPS_SCENARIO_RUNS
/// times (20) and prints the confusion matrix from the rows written here.
/// </summary>
[Trait("Category", "Scenario")]
public sealed class DiskScenarioTests : KernelTestBase
{
    private static readonly string[] LimitedOutcomes = [Outcomes.ThrottleLimited, Outcomes.Contention, Outcomes.DeviceSaturated];

    // v1 cpu.shares maximum: the I/O tenants run first whenever they are runnable, so the CPU load
    // of others on this shared machine cannot keep them from keeping the device busy (fio itself
    // needs little CPU: about 10% of one CPU at 1 GB/s).
    private const string IoTenantShares = "262144";

    public static TheoryData<string> Names => new(DiskScenario.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Scenario_is_decided_right(string name)
    {
        DiskScenario scenario = DiskScenario.All.Single(s => s.Name == name);
        int runs = ScenarioRuns.Count;
        TraceEngine engine = StartEngine();
        IResourceProbe probe = Assert.Single(ResourceProbes.Default(new ResourceProbeContext(engine.Mounts, "/")), p => p.Resource == DiskDiagnosis.Resource);
        var decided = new List<string>();
        using (LoopDevice device = LoopDevice.Create(sizeMiB: 256))
        {
            for (int i = 0; i < runs; i++)
                decided.Add(RunOnce(engine, probe, device, scenario, out string detail) + "\t" + detail);
        }
        Assert.Empty(LoopDevice.Leftovers());
        Assert.Empty(LoopDevice.LeftoverFiles());
        ScenarioRuns.Record("disk", scenario.Name, scenario.Expected, decided);

        ScenarioRuns.AssertTarget(name, scenario.Expected, decided, LimitedOutcomes);
    }

    private static string RunOnce(TraceEngine engine, IResourceProbe probe, LoopDevice device, DiskScenario scenario, out string detail)
    {
        var processes = new List<Process>();
        using TestCgroup target = TestCgroup.Create("t"), neighbour = TestCgroup.Create("n");
        try
        {
            foreach (TestCgroup cg in new[] { target, neighbour })
                cg.WriteCpu("cpu.shares", IoTenantShares);
            // blkio counts a cgroup's I/O on a device only once a throttle rule was set on that
            // device (Linux 6.18); setting and clearing one starts the counting.
            target.Write("blkio", "blkio.throttle.read_bps_device", $"{device.Number} {1L << 40}");
            target.Write("blkio", "blkio.throttle.read_bps_device", $"{device.Number} 0");

            scenario.Arrange(new DiskScenarioSetup(target, neighbour, device, processes));
            if (!device.WaitForIo(TimeSpan.FromSeconds(15)))
            {
                detail = "no I/O reached the device: " + WorkloadErrors(processes);
                return "missing";
            }
            Thread.Sleep(1000); // every fio job running, throttles past their first slices
            using var session = new TraceSession(engine, probes: [probe]);
            (long ios, long ticks) = device.Stat();
            Thread.Sleep(3000);
            using TraceWindow window = session.Cut();
            (long ios2, long ticks2) = device.Stat();

            ContainerDiagnosis? d = WindowDiagnosis.Diagnose(window)
                .SingleOrDefault(r => r.Container.CgroupPath == target.RelativePath);
            if (d?.For(DiskDiagnosis.Resource) is not { } disk)
            {
                detail = d is null ? "target not in the window" : "no disk verdict";
                return "missing";
            }
            detail = string.Join("; ", disk.Path.Select(s => $"{s.Metric}={s.Value:0.###}")) + " | " + disk.Summary +
                     $" | {device.Name}: {ios2 - ios} I/Os, io_ticks +{ticks2 - ticks} ms";
            return disk.Outcome;
        }
        finally
        {
            foreach (Process p in processes)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit(5000);
                p.Dispose();
            }
        }
    }

    /// <summary>What the workloads printed on stderr (they are killed first).</summary>
    private static string WorkloadErrors(List<Process> processes)
    {
        var errors = new List<string>();
        foreach (Process p in processes)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
            errors.Add($"exit {(p.HasExited ? p.ExitCode : -1)}: {p.StandardError.ReadToEnd().ReplaceLineEndings(" ").Trim()}");
        }
        return string.Join("; ", errors);
    }
}
