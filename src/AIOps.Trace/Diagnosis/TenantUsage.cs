namespace AIOps.Trace.Diagnosis;

/// <summary>
/// The CPU the tenants of one window used, arranged as a tree of cgroup paths, so that "CPU used by
/// every other tenant" costs one walk up a container's ancestors instead of a pass over every
/// other container (quadratic at a thousand containers).
/// </summary>
/// <remarks>
/// A tenant counts once, through the deepest cgroup that used CPU (a parent's usage already holds
/// its children's). Such a "deepest" cgroup has no descendant that used CPU, whichever container is
/// asked about; so the other tenants of X are all of them minus those in X's subtree and the one
/// (at most) among X's ancestors. Built once per window in O(containers x depth).
/// </remarks>
internal sealed class TenantUsage
{
    private readonly Dictionary<string, Node> _byPath;
    private readonly Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly long _total;

    /// <summary>Map lookups made so far (build and queries), for tests that pin the work per window.</summary>
    public long Lookups { get; private set; }

    public TenantUsage(IReadOnlyList<ContainerSnapshot> containers)
    {
        _byPath = new Dictionary<string, Node>(containers.Count, StringComparer.Ordinal);
        _bySpan = _byPath.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (ContainerSnapshot c in containers)
            _byPath[c.CgroupPath] = new Node(c);

        // Every ancestor of a cgroup that used CPU is not the deepest one.
        foreach (Node n in _byPath.Values)
            if (n.Used)
                foreach (Node a in Ancestors(n.Container.CgroupPath))
                    a.HasUsingDescendant = true;

        foreach (Node n in _byPath.Values)
        {
            if (!n.Deepest)
                continue;
            _total += n.Container.CpuUsageNs;
            n.Subtree += n.Container.CpuUsageNs;
            foreach (Node a in Ancestors(n.Container.CgroupPath))
                a.Subtree += n.Container.CpuUsageNs;
        }
    }

    /// <summary>The window's entry for a cgroup path, if it has one.</summary>
    public ContainerSnapshot? Find(string path)
    {
        Lookups++;
        return _byPath.TryGetValue(path, out Node? n) ? n.Container : null;
    }

    /// <summary>
    /// CPU used by the other tenants of <paramref name="path"/>: every cgroup that is neither it,
    /// nor one of its ancestors or descendants, nor the root; each counted once, at its deepest.
    /// </summary>
    public long OthersNs(string path)
    {
        long related = Find(path) is null ? SubtreeOfAbsent(path) : _byPath[path].Subtree;
        foreach (Node a in Ancestors(path))
            if (a.Deepest)
                related += a.Container.CpuUsageNs;
        return _total - related;
    }

    // A path the window has no entry for: its descendants in the window are found by prefix.
    private long SubtreeOfAbsent(string path)
    {
        long sum = 0;
        foreach (Node n in _byPath.Values)
            if (n.Deepest && IsBelow(n.Container.CgroupPath, path))
                sum += n.Container.CpuUsageNs;
        return sum;
    }

    private static bool IsBelow(string path, string ancestor) =>
        path.Length > ancestor.Length && path.StartsWith(ancestor, StringComparison.Ordinal) &&
        (ancestor == "/" || path[ancestor.Length] == '/');

    /// <summary>The window's entries for the strict ancestors of <paramref name="path"/>, nearest first; the root is no tenant.</summary>
    private AncestorWalk Ancestors(string path) => new(this, path);

    // A walk up the path's slashes without an enumerator object: it runs for every container, twice, each window.
    private ref struct AncestorWalk(TenantUsage usage, string path)
    {
        private int _slash = path.Length;

        public Node Current { get; private set; } = null!;

        public readonly AncestorWalk GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_slash > 0)
            {
                _slash = path.LastIndexOf('/', _slash - 1);
                if (_slash <= 0)
                    return false;
                usage.Lookups++;
                if (usage._bySpan.TryGetValue(path.AsSpan(0, _slash), out Node? a))
                {
                    Current = a;
                    return true;
                }
            }
            return false;
        }
    }

    private sealed class Node(ContainerSnapshot container)
    {
        public ContainerSnapshot Container { get; } = container;

        public bool HasUsingDescendant { get; set; }

        /// <summary>Usage of the deepest using cgroups at or below this one.</summary>
        public long Subtree { get; set; }

        public bool Used => Container.CgroupPath != "/" && Container.CpuUsageNs > 0;

        public bool Deepest => Used && !HasUsingDescendant;
    }
}
