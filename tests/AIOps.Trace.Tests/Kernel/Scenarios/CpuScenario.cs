using System.Diagnostics;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// A real situation on this machine whose CPU outcome is known: the target container "t", maybe
/// a neighbour "n", and workloads. Each scenario sets itself up in fresh cgroups.
/// </summary>
public sealed record CpuScenario(string Name, string Expected, Action<ScenarioSetup> Arrange)
{
    /// <summary>The scenarios, one or more per CPU outcome this kernel can produce.</summary>
    public static readonly IReadOnlyList<CpuScenario> All =
    [
        new("quota-20pct-busy-loop", Outcomes.CapThrottled, s =>
        {
            s.Target.WriteCpu("cpu.cfs_quota_us", "20000");
            s.Run(s.Target, TestCgroup.BusyLoop);
        }),
        new("idle-next-to-busy", Outcomes.NotThrottled, s =>
        {
            s.Run(s.Target, "sh -c 'while :; do sleep 0.2; done'");
            s.Run(s.Neighbour, TestCgroup.BusyLoop);
        }),
        new("two-tenants-no-idle-cpu", Outcomes.ShareThrottled, s =>
        {
            for (int i = 0; i < 2; i++)
            {
                s.Run(s.Target, TestCgroup.BusyLoop);
                s.Run(s.Neighbour, TestCgroup.BusyLoop);
            }
        }),
        new("alone-saturating-the-host", Outcomes.PhysicalCpuThrottled, s =>
        {
            for (int i = 0; i < 3; i++)
                s.Run(s.Target, TestCgroup.BusyLoop);
        }),
        new("cpuset-pinned-to-one-cpu", Outcomes.CpusetThrottled, s =>
        {
            s.Target.Write("cpuset", "cpuset.cpus", "1");
            s.Run(s.Target, TestCgroup.BusyLoop);
            s.Run(s.Target, TestCgroup.BusyLoop);
        }),
        new("preempted-by-host-with-idle-cpu", Outcomes.NotThrottledDigFurther, s =>
        {
            // The task shares CPU 1 with a root-cgroup hog while CPU 0 idles: not a CPU limit.
            s.Run(s.Target, TestCgroup.BusyLoop, cpu: 1);
            s.RunOnHost(TestCgroup.BusyLoop, cpu: 1);
        }),
    ];
}

/// <summary>What a scenario's Arrange step gets: its cgroups and a way to start workloads that are cleaned up.</summary>
public sealed class ScenarioSetup(TestCgroup target, TestCgroup neighbour, List<Process> processes)
{
    public TestCgroup Target { get; } = target;
    public TestCgroup Neighbour { get; } = neighbour;

    public void Run(TestCgroup cgroup, string command, int? cpu = null) => processes.Add(cgroup.Start(command, cpu));

    /// <summary>A workload in the engine's own (root) cgroup: the host, as the tree sees it.</summary>
    public void RunOnHost(string command, int? cpu = null)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"exec {(cpu is int c ? $"taskset -c {c} " : "")}{command}");
        processes.Add(Process.Start(psi)!);
    }
}
