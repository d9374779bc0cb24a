using AIOps.Trace;

// Loads and attaches the programs (or samples procfs where eBPF cannot load); Dispose detaches them.
// The session owns the engine and cuts its windows: every cgroup that ran, CPU only (the default probes add memory, disk and network).
using TraceSession session = TraceSession.Start(new EngineOptions(), probes: [], WindowScope.Ran);
TraceEngine engine = session.Engine;
Console.WriteLine($"tracing with {engine.Kernel.Attach} + {engine.Kernel.Ring} on kernel {engine.Kernel.Release}");

Thread.Sleep(TimeSpan.FromSeconds(2));
using TraceWindow window = session.Cut(); // everything since the session started (or the previous cut)

Console.WriteLine($"{window.Containers.Count} cgroups ran in {window.Seconds:0.0}s, {window.Snapshot.LostEvents} events lost");
foreach (ContainerSnapshot c in window.Containers.OrderByDescending(c => c.CpuUsageNs))
    Console.WriteLine($"{c.CgroupPath}: {c.CpuUsageNs / 1e9 / window.Seconds:0.00} cores, " +
                      $"run-queue p99 {c.RunQueue.ValueAtQuantile(0.99) / 1000:0} us, " +
                      $"{c.Involuntary} preemptions ({c.PreemptedByOther} by other cgroups), " +
                      $"{c.Throttling.ThrottledNs / 1e6:0} ms throttled");
