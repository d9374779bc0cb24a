using System.Diagnostics;
using AIOps.Trace.Analysis.Evaluation;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>
/// A fault given to one replica of a <see cref="ReplicaDomain"/> while the others run as before;
/// its <see cref="Kind"/> is the label of that replica's windows (the others are
/// <see cref="FaultKinds.None"/>). Each is the kernel mechanism the diagnosis scenarios inject.
/// </summary>
public sealed record DetectionFault(string Kind, Action<ReplicaDomain, Replica> Inject)
{
    /// <summary>Every fault, and the episode without one.</summary>
    public static readonly IReadOnlyList<DetectionFault> All =
    [
        new(FaultKinds.None, (_, _) => { }),
        // A CFS quota of 4% of a CPU under a demand of about 15%.
        new(FaultKinds.CpuCap, (_, r) => r.App.WriteCpu("cpu.cfs_quota_us", "4000")),
        // Two busy loops in a sibling cgroup of the same pod (a noisy sidecar, one loop per CPU) with
        // ten times the app's cpu.shares: on whichever CPU the replica runs it gets a tenth of the
        // pod's time there, under its demand, while the other pods keep theirs. A top-level hog would
        // slow every replica alike on a 2-CPU machine; at equal shares the app kept enough CPU that
        // 13 of 32 recorded windows showed no effect (first recording, see README).
        new(FaultKinds.NoisyNeighbour, (d, r) =>
        {
            TestCgroup hog = d.AddCgroup(r.Pod.CreateChild("hog"));
            hog.WriteCpu("cpu.shares", "10240");
            d.Track(hog.Start(TestCgroup.BusyLoop));
            d.Track(hog.Start(TestCgroup.BusyLoop));
        }),
        // The cpuset cut to CPU 1, where a host daemon spins at a higher priority: the other
        // replicas move to CPU 0, this one cannot and waits for the host's task. The daemon gets a
        // session of its own and its autogroup's nice set to -10 (with autogroups, a task's own
        // nice only counts within its session; see sched(7), "The autogroup feature").
        new(FaultKinds.CpusetSqueeze, (d, r) =>
        {
            r.App.Write("cpuset", "cpuset.cpus", "1");
            var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec setsid sh -c 'echo -10 > /proc/self/autogroup; exec taskset -c 1 sh -c \"while :; do :; done\"'");
            d.Track(Process.Start(psi)!);
        }),
        // The limit set half the cached file below what the replica uses now: every read of the
        // file reclaims its own cache at the limit (no OOM: page cache is reclaimable).
        new(FaultKinds.MemoryLimit, (_, r) =>
        {
            long usage = long.Parse(r.App.Read("memory", "memory.usage_in_bytes"));
            long limit = Math.Max(usage - ReplicaDomain.CachedFileBytes / 2, 16L << 20);
            r.App.Write("memory", "memory.limit_in_bytes", limit.ToString());
        }),
        // blkio throttles of 4 read and 4 write IOPS on the loop device under a demand of 15 each.
        new(FaultKinds.IoThrottle, (d, r) =>
        {
            r.App.Write("blkio", "blkio.throttle.read_iops_device", $"{d.Device.Number} 4");
            r.App.Write("blkio", "blkio.throttle.write_iops_device", $"{d.Device.Number} 4");
        }),
        // 10% of its data segments dropped on the path (netem is not in this kernel: see NetworkScenario).
        new(FaultKinds.NetworkLoss, (_, r) => r.Network.DropAtPeer(percent: 10)),
    ];

    public static DetectionFault Of(string kind) => All.Single(f => f.Kind == kind);
}
