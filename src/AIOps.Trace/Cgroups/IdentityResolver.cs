namespace AIOps.Trace.Cgroups;

/// <summary>
/// Names the container behind a cgroup path. Today from the path alone
/// (<see cref="ContainerNaming"/>); the host's on-disk state (kubelet pod logs, runtime
/// configs) under <see cref="HostRoot"/> adds pod and image names.
/// </summary>
public sealed class IdentityResolver
{
    public IdentityResolver(string hostRoot = "/") => HostRoot = hostRoot;

    /// <summary>Where the host's / is mounted (a sidecar sees the host under e.g. /host).</summary>
    public string HostRoot { get; }

    /// <summary>The identity of the cgroup at <paramref name="relativeCgroupPath"/>.</summary>
    public ContainerIdentity Resolve(string relativeCgroupPath) => ContainerNaming.FromPath(relativeCgroupPath);
}
