using System.Diagnostics;
using AIOps.Trace.Tests.Kernel.Scenarios;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>
/// A monitoring domain of <see cref="Replicas"/> copies of one light workload, as a deployment's
/// pods: each replica is a pod cgroup with the container "app" inside it, in its own network
/// namespace (a <see cref="NetworkLab"/>: TCP to a peer over a veth), doing direct I/O on one
/// shared loop device, reading its own file through the page cache and burning short CPU bursts.
/// Every resource the metric vector measures moves, so every fault can show. Dispose kills and
/// removes everything, even after a failure.
/// </summary>
public sealed class ReplicaDomain : IDisposable
{
    /// <summary>Bytes of each replica's cached file: its page-cache working set.</summary>
    public const long CachedFileBytes = 64L << 20;

    /// <summary>Memory limit every replica runs under (a pod's limit), far above its working set.</summary>
    public const long MemoryLimitBytes = 512L << 20;

    private readonly List<IDisposable> _owned = new();
    private readonly List<Process> _processes = new();
    private readonly List<Replica> _replicas = new();

    private ReplicaDomain(LoopDevice device) => Device = device;

    public LoopDevice Device { get; }

    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>The containers' keys (cgroup paths), in replica order.</summary>
    public IReadOnlyList<string> Keys => _replicas.Select(r => r.App.RelativePath).ToList();

    public static ReplicaDomain Create(int replicas)
    {
        var domain = new ReplicaDomain(LoopDevice.Create(sizeMiB: 256));
        try
        {
            for (int i = 0; i < replicas; i++)
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
        TestCgroup pod = Own(TestCgroup.Create($"pod{index}"));
        TestCgroup app = Own(pod.CreateChild("app"));
        NetworkLab lab = Own(NetworkLab.Create());
        app.Write("memory", "memory.limit_in_bytes", MemoryLimitBytes.ToString());
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
    /// The replica's workload, run by sh inside its namespace: about 10% of a CPU in bursts of 20 ms,
    /// 30 direct 4 KiB reads and writes a second, TCP at 4 Mbit/s, and its file read through the
    /// page cache twice a second (kept there: nothing is reclaimed under the pod's limit).
    /// </summary>
    private string Workload(Replica r) =>
        "stress-ng --cpu 1 --cpu-load 10 --cpu-load-slice 20 --quiet & " +
        $"fio --name=aiops-detect --filename={Device.Path} --direct=1 --ioengine=libaio --rw=randrw --bs=4k --iodepth=1 " +
        "--rate_iops=15,15 --time_based --runtime=900 --eta=never --output=/dev/null & " +
        $"{r.Network.Client(megabitsPerSecond: 4, seconds: 900)} > /dev/null & " +
        $"while :; do cat {r.CachedFile} > /dev/null; sleep 0.5; done & wait";

    /// <summary>A cgroup a fault added (a sibling in a pod): removed with the domain, before the pods.</summary>
    public TestCgroup AddCgroup(TestCgroup cgroup) => Own(cgroup);

    /// <summary>A process a fault started: killed and reaped with the domain.</summary>
    public void Track(Process p) => _processes.Add(p);

    /// <summary>Waits until every replica's workload has I/O on the device and TCP flowing; false after <paramref name="timeout"/>.</summary>
    public bool WaitForWorkloads(TimeSpan timeout)
    {
        if (!Device.WaitForIo(timeout))
            return false;
        Thread.Sleep(2000); // TCP out of slow start, the cached files read once, every fio job issuing
        return _processes.All(p => !p.HasExited);
    }

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
        // Children before parents (app before pod), namespaces after what ran in them, the device last.
        var failures = new List<Exception>();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            try { _owned[i].Dispose(); }
            catch (Exception e) { failures.Add(e); }
        }
        try { Device.Dispose(); }
        catch (Exception e) { failures.Add(e); }
        if (failures.Count > 0)
            throw new AggregateException("cleaning up the replica domain failed", failures);
    }

    private sealed class DeleteOnDispose(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }
}

/// <summary>One replica: its pod and container cgroups, its network namespaces and its cached file.</summary>
public sealed record Replica(int Index, TestCgroup Pod, TestCgroup App, NetworkLab Network, string CachedFile);
