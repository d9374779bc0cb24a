namespace AIOps.Trace.Cgroups;

/// <summary>Who a cgroup belongs to, as far as its path tells.</summary>
/// <param name="Name">Display name: a 12-character short id for containers, the unit name for systemd, "host" for the root.</param>
/// <param name="Runtime">One of the <see cref="ContainerRuntime"/> names.</param>
/// <param name="ContainerId">Full container id, when the path carries one.</param>
/// <param name="PodUid">Kubernetes pod UID with dashes, when under kubepods.</param>
/// <param name="QosClass">"guaranteed", "burstable" or "besteffort", when under a pod.</param>
public sealed record ContainerIdentity(string Name, string Runtime, string? ContainerId, string? PodUid, string? QosClass);

/// <summary>Values of <see cref="ContainerIdentity.Runtime"/>.</summary>
public static class ContainerRuntime
{
    /// <summary>A plain cgroup no runtime claims.</summary>
    public const string Cgroup = "cgroup";
    /// <summary>Docker (dockerd / moby).</summary>
    public const string Docker = "docker";
    /// <summary>containerd, including the Kubernetes CRI plugin.</summary>
    public const string Containerd = "containerd";
    /// <summary>CRI-O.</summary>
    public const string Crio = "crio";
    /// <summary>Podman (libpod).</summary>
    public const string Podman = "podman";
    /// <summary>A systemd unit: service, scope or slice.</summary>
    public const string Systemd = "systemd";
    /// <summary>The root cgroup: the host itself.</summary>
    public const string Host = "host";
}
