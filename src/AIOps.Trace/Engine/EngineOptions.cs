using AIOps.Trace.Bpf;

namespace AIOps.Trace;

/// <summary>Where the scheduler figures come from.</summary>
public enum EngineMode
{
    /// <summary>eBPF where the kernel and privileges allow it, else procfs sampling.</summary>
    Auto,
    /// <summary>eBPF only: fail when it cannot load.</summary>
    Ebpf,
    /// <summary>Sampling of /proc and cgroupfs, no BPF: lower resolution, no preemptor attribution.</summary>
    Procfs,
}

/// <summary>Settings of a <see cref="TraceEngine"/>.</summary>
public sealed record EngineOptions
{
    /// <summary>eBPF, procfs sampling, or the best available.</summary>
    public EngineMode Mode { get; init; } = EngineMode.Auto;

    public TracerOptions Tracer { get; init; } = new();

    /// <summary>How long the reader sleeps at most between drains (the programs rarely wake it).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Where the host's / is (a sidecar sees the host under a mount, e.g. /host).</summary>
    public string HostRoot { get; init; } = "/";

    /// <summary>Report only these cgroups (paths relative to the cpu hierarchy root); null reports every cgroup that ran.</summary>
    public IReadOnlyList<string>? Cgroups { get; init; }

    internal void Validate()
    {
        if (PollInterval < TimeSpan.FromMilliseconds(1) || PollInterval > TimeSpan.FromSeconds(10))
            throw new ArgumentException($"PollInterval must be between 1 ms and 10 s, got {PollInterval}", nameof(PollInterval));
        if (!Directory.Exists(HostRoot))
            throw new ArgumentException($"HostRoot '{HostRoot}' is not a directory", nameof(HostRoot));
        foreach (string path in Cgroups ?? [])
            if (CgroupPathProblem(path) is { } problem)
                throw new ArgumentException($"cgroup '{path}' {problem}", nameof(Cgroups));
    }

    /// <summary>
    /// What is wrong with a cgroup path given in <see cref="Cgroups"/>, or null when it names a
    /// cgroup below the hierarchy's root: an empty path would silently mean the root, and a '.' or
    /// '..' segment would name a directory outside the cgroup tree (e.g. /../../etc).
    /// </summary>
    public static string? CgroupPathProblem(string path)
    {
        if (path.Length == 0)
            return "is empty: expected a path relative to the cpu hierarchy's root, e.g. /kubepods.slice/pod1 (or / for the root)";
        if (path.Any(char.IsControl))
            return "holds a control character: expected a path relative to the cpu hierarchy's root";
        foreach (string segment in path.Split('/'))
            if (segment is "." or "..")
                return $"has a '{segment}' segment: expected a path below the cpu hierarchy's root, without '.' or '..'";
        return null;
    }
}
