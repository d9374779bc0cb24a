using System.Diagnostics;
using AIOps.Trace.Tests.Kernel.Scenarios;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>
/// What the replicas of one monitoring domain run and under which settings. Two domains differ in
/// their load and in settings no fault changes (CPU shares), as two deployments would.
/// </summary>
/// <param name="CpuLoadPercent">stress-ng's load of one CPU, in bursts of 20 ms.</param>
/// <param name="Iops">fio's direct 4 KiB reads, and as many writes, a second.</param>
/// <param name="Megabits">TCP to the replica's peer, Mbit/s.</param>
public sealed record DomainProfile(string Name, int Replicas, int CpuLoadPercent, int Iops, int Megabits, long MemoryLimitBytes, int CpuShares)
{
    /// <summary>The two domains of the benchmark: ten replicas each, about 0.8 of a CPU together.</summary>
    public static readonly IReadOnlyList<DomainProfile> Benchmark =
    [
        new("web", 10, CpuLoadPercent: 3, Iops: 10, Megabits: 2, MemoryLimitBytes: 512L << 20, CpuShares: 1024),
        new("batch", 10, CpuLoadPercent: 5, Iops: 16, Megabits: 1, MemoryLimitBytes: 384L << 20, CpuShares: 512),
    ];

    /// <summary>CPU a replica asks for, in percent of a CPU: stress-ng's load and about 1.5% for its I/O, TCP and reads.</summary>
    public double CpuDemandPercent => CpuLoadPercent + 1.5;
}

/// <summary>
/// A monitoring domain of replicas of one light workload, as a deployment's pods: a domain cgroup
/// holding one pod cgroup per replica with the container "app" inside it, each in its own network
/// namespace (a <see cref="NetworkLab"/>: TCP to a peer over a veth), doing direct I/O on a loop
/// device the domains share, reading its own file through the page cache and burning short CPU
/// bursts. Every resource the metric vector measures moves, so every fault can show. Dispose kills
/// and removes everything, even after a failure.
/// </summary>
public sealed class ReplicaDomain : IDisposable
{
    /// <summary>Bytes of each replica's cached file: its page-cache working set.</summary>
    public const long CachedFileBytes = 16L << 20;

    private readonly List<IDisposable> _owned = new();
    private readonly List<Process> _processes = new();
    private readonly List<Replica> _replicas = new();

    private ReplicaDomain(DomainProfile profile, LoopDevice device)
    {
        Profile = profile;
        Device = device;
    }

    public DomainProfile Profile { get; }

    public LoopDevice Device { get; }

    /// <summary>The domain's own cgroup, parent of its pods.</summary>
    public TestCgroup Root { get; private set; } = null!;

    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>The containers' keys (cgroup paths), in replica order.</summary>
    public IReadOnlyList<string> Keys => _replicas.Select(r => r.App.RelativePath).ToList();

    public static ReplicaDomain Create(DomainProfile profile, LoopDevice device)
    {
        var domain = new ReplicaDomain(profile, device);
        try
        {
            domain.Root = domain.Own(TestCgroup.Create($"detection-{profile.Name}"));
            for (int i = 0; i < profile.Replicas; i++)
                domain._replicas.Add(domain.AddReplica(i));
            foreach (Replica r in domain._replicas)
                domain._processes.Add(r.App.Start($"ip netns exec {r.Network.ContainerNamespace} sh -c '{domain.Workload(r)}'"));
        }
        catch
        {
            domain.Dispose();
            throw;
        }
        return domain;
    }

    private Replica AddReplica(int index)
    {
        TestCgroup pod = Own(Root.CreateChild($"pod{index}"));
        TestCgroup app = Own(pod.CreateChild("app"));
        NetworkLab lab = Own(NetworkLab.Create());
        app.Write("memory", "memory.limit_in_bytes", Profile.MemoryLimitBytes.ToString());
        app.WriteCpu("cpu.shares", Profile.CpuShares.ToString());
        // blkio counts a cgroup's I/O on a device only once a throttle rule was set on that device
        // (Linux 6.18); setting and clearing one starts the counting (as DiskScenarioTests does).
        app.Write("blkio", "blkio.throttle.read_bps_device", $"{Device.Number} {1L << 40}");
        app.Write("blkio", "blkio.throttle.read_bps_device", $"{Device.Number} 0");
        // On the root file system, not tmpfs: reading its holes charges page cache to the reader.
        string file = $"/var/tmp/{TestCgroup.Prefix}detect-{Guid.NewGuid():N}";
        using (var f = new FileStream(file, FileMode.CreateNew))
            f.SetLength(CachedFileBytes);
        _owned.Add(new DeleteOnDispose(file));
        return new Replica(index, pod, app, lab, file);
    }

    /// <summary>
    /// The replica's workload, run by sh inside its namespace: CPU in bursts of 20 ms, direct 4 KiB
    /// reads and writes, TCP to its peer, and its file read through the page cache every second
    /// (kept there: nothing is reclaimed under the pod's limit).
    /// </summary>
    private string Workload(Replica r) =>
        $"stress-ng --cpu 1 --cpu-load {Profile.CpuLoadPercent} --cpu-load-slice 20 --quiet & " +
        $"{Fio(Profile.Iops)} & " +
        $"{r.Network.Client(megabitsPerSecond: Profile.Megabits, seconds: 900)} > /dev/null & " +
        $"while :; do cat {r.CachedFile} > /dev/null; sleep 1; done & wait";

    /// <summary>fio's command line: direct random reads and writes on the device at this rate each.</summary>
    public string Fio(int iops) =>
        $"fio --name=aiops-detect --filename={Device.Path} --direct=1 --ioengine=libaio --rw=randrw --bs=4k --iodepth=1 " +
        $"--rate_iops={iops},{iops} --time_based --runtime=900 --eta=never --output=/dev/null";

    /// <summary>A cgroup a fault added (a sibling in a pod): removed with the domain at the latest, before the pods.</summary>
    public TestCgroup AddCgroup(TestCgroup cgroup) => Own(cgroup);

    /// <summary>A process a fault started: killed and reaped with the domain at the latest.</summary>
    public Process Track(Process p)
    {
        _processes.Add(p);
        return p;
    }

    /// <summary>Whether every workload still runs.</summary>
    public bool Running => _processes.Take(_replicas.Count).All(p => !p.HasExited);

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
            p.Dispose();
        }
        // Children before parents (app before pod before domain), namespaces after what ran in them.
        var failures = new List<Exception>();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            try { _owned[i].Dispose(); }
            catch (Exception e) { failures.Add(e); }
        }
        if (failures.Count > 0)
            throw new AggregateException($"cleaning up the replica domain {Profile.Name} failed", failures);
    }

    private sealed class DeleteOnDispose(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }
}

/// <summary>One replica: its pod and container cgroups, its network namespaces and its cached file.</summary>
public sealed record Replica(int Index, TestCgroup Pod, TestCgroup App, NetworkLab Network, string CachedFile);
