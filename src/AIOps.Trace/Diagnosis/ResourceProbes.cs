using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Diagnosis;

/// <summary>One resource's cumulative counters for one cgroup at one instant (the start or end of a window).</summary>
public interface IResourceReading
{
    /// <summary>When it was read (Stopwatch ticks).</summary>
    long Timestamp { get; }
}

/// <summary>
/// Reads one resource (memory, disk, network) of a cgroup from the kernel's files and decides its
/// reverse diagnosis from two readings: the memory, disk and network counterpart of the CPU
/// evidence the engine builds from its events.
/// </summary>
public interface IResourceProbe
{
    /// <summary>"memory", "disk" or "network": the key of the verdict in JSON.</summary>
    string Resource { get; }

    /// <summary>The cgroup's counters now; null when the cgroup has gone (a vanished cgroup is not an error).</summary>
    IResourceReading? Read(string cgroupPath);

    /// <summary>The verdict over a window. <paramref name="start"/> is null when the cgroup appeared during the window.</summary>
    ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds);
}

/// <summary>Where the probes look: cgroup mounts and the host's root (a sidecar sees the host under a mount).</summary>
public sealed record ResourceProbeContext(CgroupMounts Mounts, string HostRoot);

/// <summary>The probes the CLI and the sidecar use, one per resource beside CPU.</summary>
public static class ResourceProbes
{
    public static IReadOnlyList<IResourceProbe> Default(ResourceProbeContext context)
    {
        var probes = new List<IResourceProbe>();
        probes.Add(new MemoryProbe(context));
        probes.Add(new DiskProbe(context));
        probes.Add(new NetworkProbe(context));
        return probes;
    }
}

/// <summary>
/// Keeps each cgroup's last reading per probe and turns two consecutive samples into verdicts.
/// State is bounded: a cgroup absent from a sample is forgotten.
/// </summary>
public sealed class ResourceSampler
{
    private readonly IReadOnlyList<IResourceProbe> _probes;
    private Dictionary<string, IResourceReading?[]> _last = new(StringComparer.Ordinal);

    public ResourceSampler(IReadOnlyList<IResourceProbe> probes) => _probes = probes;

    public IReadOnlyList<IResourceProbe> Probes => _probes;

    /// <summary>Cgroups with a stored reading (for tests of bounded state).</summary>
    public int Tracked => _last.Count;

    /// <summary>Reads every probe for these cgroups: the start of the next window.</summary>
    public void Baseline(IEnumerable<string> cgroupPaths)
    {
        var next = new Dictionary<string, IResourceReading?[]>(StringComparer.Ordinal);
        foreach (string path in cgroupPaths)
            next[path] = ReadAll(path);
        _last = next;
    }

    /// <summary>
    /// Reads every probe for these cgroups and decides each against the previous reading, then
    /// keeps these readings as the next baseline. A cgroup that vanished since gets no verdicts.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ResourceDiagnosis>> Sample(IEnumerable<string> cgroupPaths, double seconds)
    {
        var verdicts = new Dictionary<string, IReadOnlyList<ResourceDiagnosis>>(StringComparer.Ordinal);
        var next = new Dictionary<string, IResourceReading?[]>(StringComparer.Ordinal);
        foreach (string path in cgroupPaths)
        {
            IResourceReading?[] now = ReadAll(path);
            next[path] = now;
            _last.TryGetValue(path, out IResourceReading?[]? before);
            var list = new List<ResourceDiagnosis>(_probes.Count);
            for (int i = 0; i < _probes.Count; i++)
                if (now[i] is { } end)
                    list.Add(_probes[i].Diagnose(path, before?[i], end, seconds));
            verdicts[path] = list;
        }
        _last = next;
        return verdicts;
    }

    private IResourceReading?[] ReadAll(string path)
    {
        var readings = new IResourceReading?[_probes.Count];
        for (int i = 0; i < _probes.Count; i++)
            readings[i] = _probes[i].Read(path);
        return readings;
    }
}
