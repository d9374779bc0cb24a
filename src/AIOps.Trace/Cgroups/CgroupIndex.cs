using System.Diagnostics.CodeAnalysis;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// Maps cgroup ids, as BPF reports them, to paths relative to one hierarchy root ("/" for the
/// root, "/a/b" below it). Since Linux 5.5 a cgroup's id on 64-bit kernels is its kernfs node
/// id (what BPF reads from <c>cgroup-&gt;kn-&gt;id</c>), which equals the inode number of its
/// directory in cgroupfs (commit 40430452fd5d, "kernfs: use 64bit inos if ino_t is 64bit").
/// Such ids are not reused while the kernel runs, so a cached entry cannot name another cgroup:
/// kernfs allocates the low 32 bits from a cyclic idr (<c>idr_alloc_cyclic(&amp;root-&gt;ino_idr, kn, 1, 0, ...)</c>
/// in fs/kernfs/dir.c <c>__kernfs_new_node</c>), which hands a freed number out again only after
/// wrapping the whole 31-bit range, and bumps <c>root-&gt;id_highbits</c>, the upper 32 bits, on
/// each wrap; <c>kernfs_id_ino</c> exposes all 64 bits as the inode number when ino_t is 64-bit,
/// so a repeat needs about 2^63 cgroup creations. On 32-bit kernels ino_t is 32-bit and only the
/// low half is visible, so an id can recur after 2^31 creations: the engine also checks that the
/// figures at both ends of a window belong to the same id before it subtracts them.
/// Safe for concurrent use.
/// </summary>
public sealed class CgroupIndex
{
    // Events for an unknown id arrive in bursts (one per context switch of a new container);
    // without a limit each would walk the whole tree.
    private static readonly TimeSpan RescanInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _root;
    private readonly ICgroupFileSystem _fs;
    private readonly TimeProvider _time;
    private readonly Lock _scanLock = new();

    // Replaced whole by each scan and never mutated after publication, so lookups need no lock.
    private volatile Dictionary<ulong, string> _byId = new();
    private long _lastScan;
    private bool _scanned;

    /// <summary>Index over the live hierarchy mounted at <paramref name="hierarchyRoot"/>.</summary>
    public CgroupIndex(string hierarchyRoot)
        : this(hierarchyRoot, RealCgroupFileSystem.Instance)
    {
    }

    internal CgroupIndex(string hierarchyRoot, ICgroupFileSystem fs, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(hierarchyRoot);
        ArgumentNullException.ThrowIfNull(fs);
        _root = hierarchyRoot.Length > 1 ? hierarchyRoot.TrimEnd('/') : hierarchyRoot;
        _fs = fs;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Number of cgroups known since the last scan.</summary>
    public int Count => _byId.Count;

    /// <summary>When the last scan began (a <see cref="TimeProvider"/> timestamp); 0 before the first.</summary>
    internal long LastScan => Volatile.Read(ref _lastScan);

    /// <summary>Every cgroup known since the last scan: id to relative path.</summary>
    public IReadOnlyDictionary<ulong, string> Entries => _byId;

    /// <summary>
    /// Looks <paramref name="id"/> up; on a miss rescans the tree, at most once per 250 ms.
    /// Cgroups removed before the next scan stop resolving after it.
    /// </summary>
    public bool TryResolve(ulong id, [MaybeNullWhen(false)] out string relativePath)
    {
        if (_byId.TryGetValue(id, out relativePath))
            return true;

        lock (_scanLock)
        {
            // Another thread may have rescanned while this one waited for the lock.
            if (_byId.TryGetValue(id, out relativePath))
                return true;
            if (_scanned && _time.GetElapsedTime(_lastScan) < RescanInterval)
                return false;
            ScanLocked();
        }

        return _byId.TryGetValue(id, out relativePath);
    }

    /// <summary>Rescans the tree now, regardless of when the last scan ran.</summary>
    public void Refresh()
    {
        lock (_scanLock)
            ScanLocked();
    }

    /// <summary>Id of the cgroup at <paramref name="relativePath"/>, or null when it does not exist.</summary>
    public ulong? IdOf(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        string rel = relativePath.Trim('/');
        return Inode(rel.Length == 0 ? _root : (_root == "/" ? "/" : _root + "/") + rel);
    }

    // A cgroup removed mid-scan is a cgroup that is not there, whatever the file system layer throws.
    private ulong? Inode(string path)
    {
        try
        {
            return _fs.Inode(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private IEnumerable<string> Children(string path)
    {
        try
        {
            return _fs.EnumerateDirectories(path).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private void ScanLocked()
    {
        // Stamped before the walk: a cgroup created during it may be missed, so only a scan
        // that began after a cgroup's first event may conclude it is gone.
        long started = _time.GetTimestamp();
        var byId = new Dictionary<ulong, string>(Math.Max(16, _byId.Count));
        var pending = new Stack<(string FullPath, string RelativePath)>();
        pending.Push((_root, "/"));
        while (pending.TryPop(out var dir))
        {
            // A directory removed since its parent was listed has no inode: skip its subtree.
            if (Inode(dir.FullPath) is not ulong id)
                continue;
            byId[id] = dir.RelativePath;
            foreach (string child in Children(dir.FullPath))
            {
                string name = Path.GetFileName(child.TrimEnd('/'));
                pending.Push((child, dir.RelativePath == "/" ? "/" + name : dir.RelativePath + "/" + name));
            }
        }

        _byId = byId;
        Volatile.Write(ref _lastScan, started);
        _scanned = true;
    }
}
