using System.Diagnostics;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// A session's windows over real cgroups: every container decided, idle ones too (the commonest
/// answer to "is it throttled?"), and a parent of containers (a pod) is none.
/// </summary>
public sealed class WindowSessionTests : KernelTestBase
{
    [Fact]
    public void Every_container_is_decided_idle_ones_too_and_a_parent_is_none()
    {
        TestCgroup pod = NewCgroup("pod");
        TestCgroup busy = Own(pod.CreateChild("busy")), idle = Own(pod.CreateChild("idle"));
        Track(busy.Start(TestCgroup.BusyLoop));
        Track(idle.Start("sleep 600"));
        TraceEngine engine = StartEngine();
        using var session = new TraceSession(engine, probes: []);

        // The idle container's shell ran before it exec'd sleep: wait for a window in which the
        // kernel's own counter (cpuacct.usage) did not move, and check that window.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            long before = long.Parse(idle.Read("cpuacct", "cpuacct.usage"));
            Thread.Sleep(500);
            using TraceWindow window = session.Cut();
            long after = long.Parse(idle.Read("cpuacct", "cpuacct.usage"));
            if (after != before)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"the idle container kept using CPU: {before} -> {after} ns");
                continue;
            }

            Assert.DoesNotContain(window.Containers, c => c.CgroupPath == pod.RelativePath || c.CgroupPath == "/");
            Assert.True(window.Snapshot.ParentsLeftOut >= 1, "the pod (and the root) are counted as left out");
            IReadOnlyList<ContainerDiagnosis> diagnoses = WindowDiagnosis.Diagnose(window);

            ContainerDiagnosis quiet = Assert.Single(diagnoses, d => d.Container.CgroupPath == idle.RelativePath);
            Assert.Equal(0, quiet.Container.CpuUsageNs);
            Assert.Equal(0, quiet.Container.Involuntary);
            Assert.Equal(Outcomes.NotThrottled, quiet.Cpu.Outcome);
            Assert.Contains("idle", quiet.Cpu.Summary);
            Assert.Equal("cpu_usage_cores", quiet.Cpu.Path[^1].Metric);

            ContainerDiagnosis running = Assert.Single(diagnoses, d => d.Container.CgroupPath == busy.RelativePath);
            Assert.True(running.Container.CpuUsageNs > 0);
            Assert.DoesNotContain("idle", running.Cpu.Summary);
            return;
        }
    }
}
