namespace AIOps.Trace.Cgroups;

/// <summary>
/// Names the container behind a cgroup path: the facts its path carries
/// (<see cref="ContainerNaming"/>: runtime, container id, pod UID, QoS class) combined with the
/// facts the node's disk under <see cref="HostRoot"/> carries (<see cref="RuntimeState"/>:
/// container and image names; <see cref="KubeletLogs"/>: pod name, namespace, container name).
/// Results are cached per path in a bounded cache. A result that lacks a fact the disk should
/// have (a pod whose log directory is not there yet, a container the runtime has not written)
/// is looked up again, at most every <see cref="RetryInterval"/>, so a new container is named
/// once its runtime catches up. Never throws for the state of the disk: unreadable or
/// malformed files leave those fields null and are counted in <see cref="FailedLookups"/>.
/// Safe for concurrent use.
/// </summary>
public sealed class IdentityResolver
{
    /// <summary>How long an incomplete result is served before the disk is read again for it.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    // The kubelet's log directories are listed once for every path resolved within this time,
    // not once per path: a node starting fifty containers resolves them with one listing.
    private static readonly TimeSpan ListingMaxAge = TimeSpan.FromSeconds(1);

    // Above the containers a node runs (a cache smaller than the live set evicts half of it and
    // resolves it again every window: at 5,000 containers that was 6% of the sidecar's CPU). The
    // cache also drops a cgroup when it is removed (Forget).
    private const int DefaultCapacity = 65_536;

    private readonly HostFiles _files;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private Dictionary<string, PodLogs>? _pods;
    private Dictionary<string, (string PodName, string Namespace, string ContainerName)>? _containers;
    private long _listedAt;

    public IdentityResolver(string hostRoot = "/")
        : this(hostRoot, TimeProvider.System)
    {
    }

    internal IdentityResolver(string hostRoot, TimeProvider time, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _files = new HostFiles(hostRoot);
        _time = time;
        _capacity = capacity;
        // Look once now, so an unusable /var/log/pods is reported before the first pod needs it.
        KubeletLogs.Pods(_files);
    }

    /// <summary>Where the host's / is mounted (a sidecar sees the host under e.g. /host).</summary>
    public string HostRoot => _files.HostRoot;

    /// <summary>Disk lookups that found a file or directory but could not read or parse it (permissions, malformed JSON).</summary>
    public long FailedLookups => _files.Failed;

    /// <summary>
    /// Why the node's disk gave less than it should, once per cause: a <c>/var/log/pods</c> that
    /// is a file, a dangling symlink or unreadable, entries not named as the kubelet names them,
    /// and the like. Identity then falls back to what the cgroup path tells.
    /// </summary>
    public IReadOnlyList<string> Warnings => _files.Warnings;

    /// <summary>Disk lookups whose file or directory did not exist (normal on a node without that runtime).</summary>
    public long MissingLookups => _files.Missing;

    /// <summary>Paths currently cached (never more than the capacity).</summary>
    public int CachedPaths
    {
        get
        {
            lock (_lock)
                return _cache.Count;
        }
    }

    /// <summary>The identity of the cgroup at <paramref name="relativeCgroupPath"/>.</summary>
    public ContainerIdentity Resolve(string relativeCgroupPath)
    {
        ArgumentNullException.ThrowIfNull(relativeCgroupPath);
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            if (_cache.TryGetValue(relativeCgroupPath, out Entry? cached)
                && (cached.Complete || _time.GetElapsedTime(cached.ResolvedAt, now) < RetryInterval))
            {
                cached.LastUsed = now;
                return cached.Identity;
            }

            ContainerIdentity fromPath = ContainerNaming.FromPath(relativeCgroupPath);
            if (fromPath.Runtime == ContainerRuntime.Cgroup && RuntimeState.PlainContainerd(_files, relativeCgroupPath) is { } task)
                fromPath = task;
            (ContainerIdentity identity, bool complete) = WithDiskFacts(fromPath, now);
            if (_cache.Count >= _capacity && !_cache.ContainsKey(relativeCgroupPath))
                EvictOldestHalf();
            _cache[relativeCgroupPath] = new Entry(identity, now, complete) { LastUsed = now };
            return identity;
        }
    }

    /// <summary>Drops the cached identity of a cgroup that was removed.</summary>
    public void Forget(string relativeCgroupPath)
    {
        lock (_lock)
            _cache.Remove(relativeCgroupPath);
    }

    private (ContainerIdentity Identity, bool Complete) WithDiskFacts(ContainerIdentity id, long now)
    {
        RuntimeFacts? facts = id.ContainerId is { } cid ? RuntimeState.Read(_files, id.Runtime, cid) : null;
        bool sandbox = facts?.IsSandbox == true;
        if (id.PodUid is not { } uid)
        {
            // Outside Kubernetes the runtime's own name is the container's name (docker --name).
            id = id with { ContainerName = facts?.Name, Image = facts?.Image };
            return (id, id.ContainerId is null || facts is not null);
        }

        string? podName = facts?.PodName, ns = facts?.Namespace;
        string? container = sandbox ? null : facts?.ContainerName;
        PodLogs? pod = null;
        if (podName is null || ns is null || (container is null && !sandbox && id.ContainerId is not null))
        {
            pod = FindPod(uid, sandbox ? null : id.ContainerId, now);
            (podName, ns) = (podName ?? pod?.PodName, ns ?? pod?.Namespace);
        }

        if (container is null && !sandbox && id.ContainerId is { } containerId)
        {
            if (_containers is not null && _containers.TryGetValue(containerId, out var logged))
                container = logged.ContainerName;
            else if (_containers is null && pod?.ContainerNames.Length == 1)
                // Without the per-id symlinks, a pod with one container directory names it; with
                // several, log files named by restart count cannot say which is which: leave it.
                container = pod.ContainerNames[0];
        }

        id = id with { PodName = podName, Namespace = ns, ContainerName = container, Image = facts?.Image };
        bool complete = podName is not null && ns is not null && (id.ContainerId is null || sandbox || container is not null);
        return (id, complete);
    }

    private PodLogs? FindPod(string uid, string? containerId, long now)
    {
        // Names of a UID never change, so a listing that has the pod and container serves as
        // long as it likes; a miss re-lists, but not more than once per ListingMaxAge.
        bool miss = _pods is null || !_pods.ContainsKey(uid)
            || (containerId is not null && (_containers is null || !_containers.ContainsKey(containerId)));
        if (_pods is null || (miss && _time.GetElapsedTime(_listedAt, now) >= ListingMaxAge))
        {
            _pods = KubeletLogs.Pods(_files);
            _containers = KubeletLogs.ContainersById(_files);
            _listedAt = now;
        }
        return _pods.GetValueOrDefault(uid);
    }

    // Paths of live cgroups are looked up every window and stay recently used; paths of removed
    // cgroups are the least recently used. Dropping half at once keeps eviction rare and its cost amortised.
    private void EvictOldestHalf()
    {
        string[] oldest = _cache.OrderBy(e => e.Value.LastUsed).Take(_cache.Count / 2 + 1).Select(e => e.Key).ToArray();
        foreach (string path in oldest)
            _cache.Remove(path);
    }

    private sealed record Entry(ContainerIdentity Identity, long ResolvedAt, bool Complete)
    {
        public long LastUsed { get; set; }
    }
}
