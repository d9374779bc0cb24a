namespace AIOps.Trace.Cgroups;

/// <summary>One mounted cgroup hierarchy.</summary>
/// <param name="MountPoint">Where the hierarchy is mounted, already prefixed with the host root.</param>
/// <param name="Version">1 for a legacy hierarchy, 2 for the unified one.</param>
/// <param name="Controllers">
/// v1 controllers bound to the hierarchy (<c>cpu</c>, <c>cpuacct</c>, <c>name=systemd</c> ...);
/// empty for v2, whose controllers are listed in its root <c>cgroup.controllers</c> file.
/// </param>
/// <param name="Root">
/// The hierarchy path shown at the mount point. It is "/" on a host; inside a container with a
/// cgroup namespace or a bind mount it is the container's own cgroup, e.g. "/docker/&lt;id&gt;".
/// </param>
public sealed record CgroupMount(string MountPoint, int Version, IReadOnlyList<string> Controllers, string Root = "/")
{
    /// <summary>
    /// File system path of a cgroup given its path from the hierarchy root (what BPF and
    /// /proc/&lt;pid&gt;/cgroup report), e.g. "/aiops-test/web-1".
    /// </summary>
    public string PathOf(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        string rel = relativePath;
        // A mount whose root is a sub-cgroup shows that cgroup at the mount point, so the root
        // prefix has to come off before joining.
        if (Root != "/" && (rel == Root || rel.StartsWith(Root + "/", StringComparison.Ordinal)))
            rel = rel[Root.Length..];
        rel = rel.Trim('/');
        string mount = MountPoint.Length > 1 ? MountPoint.TrimEnd('/') : MountPoint;
        if (rel.Length == 0)
            return mount;
        return mount == "/" ? "/" + rel : mount + "/" + rel;
    }

    /// <summary>Path of a file of the cgroup, e.g. <c>PathOf("/a", "cpu.stat")</c>.</summary>
    public string PathOf(string relativePath, string fileName) => PathOf(relativePath) + "/" + fileName;

    /// <summary>True when this is a v1 hierarchy with <paramref name="controller"/> bound to it.</summary>
    public bool HasV1Controller(string controller) =>
        Version == 1 && Controllers.Contains(controller, StringComparer.Ordinal);
}
