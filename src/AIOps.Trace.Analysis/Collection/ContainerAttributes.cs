using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>
/// A container's environment: what it runs and under which limits, the input to environment-aware
/// partitioning. Categorical facts are null and numeric ones NaN when unknown.
/// </summary>
/// <param name="Key">The container's stable key (its cgroup path).</param>
/// <param name="Runtime">One of the <see cref="ContainerRuntime"/> names.</param>
/// <param name="Image">Image reference, when known.</param>
/// <param name="Owner">The owner workload ("namespace/deployment" for pods; the image repository or name otherwise; for a cgroup no runtime names, its last path element without a replica ordinal).</param>
/// <param name="OwnerKind">"deployment", "statefulset", "daemonset-or-job", "pod", "image", "name" or "cgroup" (an unnamed cgroup's last path element).</param>
/// <param name="Labels">Labels the user attaches (pod labels, docker labels); empty when none are known.</param>
/// <param name="QosClass">"guaranteed", "burstable" or "besteffort", when under a pod.</param>
/// <param name="CpuQuotaCores">CFS quota / period, NaN when unlimited or unknown.</param>
/// <param name="CpuShares">v1 shares, or v2 weight converted to shares (weight 100 = 1024), NaN when unknown.</param>
/// <param name="CpusetSize">CPUs in the cpuset, NaN when unknown.</param>
/// <param name="MemoryLimitBytes">Memory hard limit, NaN when unlimited or unknown.</param>
/// <param name="Node">The node (host name) the container runs on, when known.</param>
public sealed record ContainerAttributes(
    string Key, string Runtime, string? Image, string? Owner, string? OwnerKind,
    IReadOnlyDictionary<string, string> Labels, string? QosClass,
    double CpuQuotaCores, double CpuShares, double CpusetSize, double MemoryLimitBytes, string? Node)
{
    /// <summary>
    /// Builds the attributes from what the engine and the cgroup reader know of a container.
    /// </summary>
    /// <param name="key">The container's key (cgroup path).</param>
    /// <param name="identity">Runtime, ids and pod facts (ContainerSnapshot.Identity); null when unnamed.</param>
    /// <param name="limits">CgroupReader.ReadCpuLimits of the container.</param>
    /// <param name="memoryLimitBytes">The memory limit in bytes; -1 or less when unlimited or unknown.</param>
    public static ContainerAttributes From(string key, ContainerIdentity? identity, CpuLimits limits,
        long memoryLimitBytes = -1, string? node = null, IReadOnlyDictionary<string, string>? labels = null)
    {
        (string? owner, string? ownerKind) = OwnerOf(identity);
        if (owner is null)
            (owner, ownerKind) = CgroupOwner(key);
        double shares = limits.Shares > 0 ? limits.Shares
            : limits.Weight > 0 ? limits.Weight * 1024.0 / 100 // v2's default weight 100 is v1's default 1024 shares
            : double.NaN;
        IReadOnlyList<int> cpuset = CpuList.ParseOrEmpty(limits.CpusetCpus);
        return new ContainerAttributes(
            key, identity?.Runtime ?? ContainerRuntime.Cgroup, identity?.Image, owner, ownerKind,
            labels ?? new Dictionary<string, string>(), identity?.QosClass,
            limits.QuotaCpus ?? double.NaN, shares, cpuset.Count == 0 ? double.NaN : cpuset.Count,
            memoryLimitBytes > 0 ? memoryLimitBytes : double.NaN, node);
    }

    /// <summary>The owner workload: the pod's controller, else the image repository, else the container name.</summary>
    internal static (string? Owner, string? Kind) OwnerOf(ContainerIdentity? identity)
    {
        // The engine names a cgroup no runtime claims by its last element ("web-0"): that is no
        // owner, the cgroup's owner (without the replica ordinal) is.
        if (identity is null || (identity.Runtime == ContainerRuntime.Cgroup && identity.PodName is null && identity.Image is null))
            return (null, null);
        if (identity.PodName is { Length: > 0 } pod)
        {
            OwnerWorkload w = OwnerWorkloads.FromPodName(pod);
            return (identity.Namespace is null ? w.Name : $"{identity.Namespace}/{w.Name}", w.Kind);
        }
        if (identity.Image is { Length: > 0 } image)
            return (ImageRepository(image), "image");
        return (identity.ContainerName ?? identity.Name, "name");
    }

    /// <summary>
    /// The owner of a cgroup no runtime names: its last path element, with a replica ordinal
    /// ("web-0", "web-12") taken off, so "/a/web-0" and "/b/web-1" are replicas of "web" and
    /// "/system.slice/ssh.service" stands alone. The root has no owner.
    /// </summary>
    internal static (string? Owner, string? Kind) CgroupOwner(string key)
    {
        // Asked for every container every window; the answer depends on the path alone.
        if (s_cgroupOwners.TryGetValue(key, out (string?, string?) known))
            return known;
        (string?, string?) owner = CgroupOwnerOf(key);
        if (s_cgroupOwners.Count >= CgroupOwnersKept)
            s_cgroupOwners.Clear();
        s_cgroupOwners[key] = owner;
        return owner;
    }

    private const int CgroupOwnersKept = 65_536;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string?, string?)> s_cgroupOwners = new(StringComparer.Ordinal);

    private static (string? Owner, string? Kind) CgroupOwnerOf(string key)
    {
        string leaf = key.TrimEnd('/');
        leaf = leaf[(leaf.LastIndexOf('/') + 1)..];
        if (leaf.Length == 0)
            return (null, null);
        OwnerWorkload w = OwnerWorkloads.FromPodName(leaf);
        return (w.Kind == "statefulset" ? w.Name : leaf, "cgroup");
    }

    /// <summary>"registry/repo:tag@sha256:..." -> "registry/repo" (a registry's port colon is kept).</summary>
    internal static string ImageRepository(string image)
    {
        int at = image.IndexOf('@');
        string s = at >= 0 ? image[..at] : image;
        int colon = s.LastIndexOf(':');
        return colon > s.LastIndexOf('/') ? s[..colon] : s;
    }
}
