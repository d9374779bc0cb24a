using AIOps.Trace;

// Loads and attaches the programs (or samples procfs where eBPF cannot load); Dispose detaches them.
using TraceEngine engine = TraceEngine.Start(new EngineOptions());
Console.WriteLine($"tracing with {engine.Kernel.Attach} + {engine.Kernel.Ring} on kernel {engine.Kernel.Release}");

Thread.Sleep(TimeSpan.FromSeconds(2));
using EngineSnapshot window = engine.CollectWindow(); // everything since Start (or the previous window)

Console.WriteLine($"{window.Containers.Count} cgroups ran in {window.WindowSeconds:0.0}s, {window.LostEvents} events lost");
foreach (ContainerSnapshot c in window.Containers.OrderByDescending(c => c.CpuUsageNs))
    Console.WriteLine($"{c.CgroupPath}: {c.CpuUsageNs / 1e9 / window.WindowSeconds:0.00} cores, " +
                      $"run-queue p99 {c.RunQueue.ValueAtQuantile(0.99) / 1000:0} us, " +
                      $"{c.Involuntary} preemptions ({c.PreemptedByOther} by other cgroups), " +
                      $"{c.Throttling.ThrottledNs / 1e6:0} ms throttled");
