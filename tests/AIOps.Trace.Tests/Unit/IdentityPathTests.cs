using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// Identity from the cgroup path alone, for the layouts each runtime creates. A path is relative
/// to its hierarchy's root, so the same container has the same relative path in every cgroup v1
/// controller (cpu, cpuacct, the name=systemd hierarchy) and in v2 or the hybrid "unified"
/// mount; what changes between setups is the cgroup driver (cgroupfs or systemd), which the
/// fixtures below cover for each runtime, plus nesting (kind, docker-in-docker, rootless).
/// </summary>
public class IdentityPathTests
{
    private const string Id = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    private const string Short = "a1b2c3d4e5f6";
    private const string Outer = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string Uid = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    private const string UidU = "5e6f7a8b_9c0d_4e1f_8a2b_3c4d5e6f7a8b";
    private const string StaticPodUid = "6b1c4f3e2a1d0c9b8a7f6e5d4c3b2a19";

    public static TheoryData<string, string, string?, string?, string?> Layouts => new()
    {
        // path, runtime, container id, pod uid, qos
        // Docker, cgroupfs driver (v1 default) and systemd driver (v2 default), rootless docker.
        { $"/docker/{Id}", "docker", Id, null, null },
        { $"/docker/{Id}/", "docker", Id, null, null },
        { $"/system.slice/docker-{Id}.scope", "docker", Id, null, null },
        { $"/user.slice/user-1000.slice/user@1000.service/docker-{Id}.scope", "docker", Id, null, null },
        // docker-in-docker: the inner container is the deepest.
        { $"/docker/{Outer}/docker/{Id}", "docker", Id, null, null },

        // containerd under the kubelet: cgroupfs (bare id in the pod directory) and systemd.
        { $"/kubepods/burstable/pod{Uid}/{Id}", "containerd", Id, Uid, "burstable" },
        { $"/kubepods/besteffort/pod{Uid}/{Id}", "containerd", Id, Uid, "besteffort" },
        { $"/kubepods/pod{Uid}/{Id}", "containerd", Id, Uid, "guaranteed" },
        { $"/kubepods/burstable/pod{StaticPodUid}/{Id}", "containerd", Id, StaticPodUid, "burstable" },
        { $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice/cri-containerd-{Id}.scope", "containerd", Id, Uid, "burstable" },
        { $"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UidU}.slice/cri-containerd-{Id}.scope", "containerd", Id, Uid, "besteffort" },
        { $"/kubepods.slice/kubepods-pod{UidU}.slice/cri-containerd-{Id}.scope", "containerd", Id, Uid, "guaranteed" },
        // The pod UID in its dashed spelling inside a systemd slice name is read the same way.
        { $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{Uid}.slice/cri-containerd-{Id}.scope", "containerd", Id, Uid, "burstable" },
        // containerd outside Kubernetes, systemd driver.
        { $"/system.slice/cri-containerd-{Id}.scope", "containerd", Id, null, null },
        // kind: a kubelet inside a docker container, both drivers.
        { $"/docker/{Outer}/kubepods/besteffort/pod{Uid}/{Id}", "containerd", Id, Uid, "besteffort" },
        {
            $"/system.slice/docker-{Outer}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UidU}.slice/cri-containerd-{Id}.scope",
            "containerd", Id, Uid, "besteffort"
        },
        // dockershim / cri-dockerd: docker scopes inside pod slices.
        { $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice/docker-{Id}.scope", "docker", Id, Uid, "burstable" },

        // CRI-O, systemd and cgroupfs drivers; conmon, the monitor, is not the container.
        { $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice/crio-{Id}.scope", "crio", Id, Uid, "burstable" },
        { $"/kubepods.slice/kubepods-pod{UidU}.slice/crio-{Id}.scope", "crio", Id, Uid, "guaranteed" },
        { $"/kubepods/besteffort/pod{Uid}/crio-{Id}", "crio", Id, Uid, "besteffort" },
        { $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice/crio-conmon-{Id}.scope", "systemd", null, Uid, "burstable" },
        { $"/kubepods/burstable/pod{Uid}/crio-conmon-{Id}", "cgroup", null, Uid, "burstable" },

        // Podman: systemd driver rootful and rootless, --cgroups=split, pods, conmon, cgroupfs.
        { $"/machine.slice/libpod-{Id}.scope", "podman", Id, null, null },
        { $"/machine.slice/libpod-{Id}.scope/container", "podman", Id, null, null },
        { $"/machine.slice/machine-libpod_pod_{Outer}.slice/libpod-{Id}.scope", "podman", Id, null, null },
        { $"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{Id}.scope", "podman", Id, null, null },
        { $"/machine.slice/libpod-conmon-{Id}.scope", "systemd", null, null, null },
        { $"/libpod_parent/libpod-{Id}", "podman", Id, null, null },

        // Kubernetes pod cgroups themselves, and the QoS levels.
        { $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice", "systemd", null, Uid, "burstable" },
        { $"/kubepods/besteffort/pod{Uid}", "cgroup", null, Uid, "besteffort" },
        { "/kubepods.slice/kubepods-burstable.slice", "systemd", null, null, null },
        { "/kubepods/burstable", "cgroup", null, null, null },

        // systemd services and slices (v1 name=systemd and cpu hierarchies, v2), plain cgroups.
        { "/system.slice/containerd.service", "systemd", null, null, null },
        { "/system.slice/kubelet.service", "systemd", null, null, null },
        { "/user.slice", "systemd", null, null, null },
        { "/batch/job-17", "cgroup", null, null, null },
        { $"/{Id}", "cgroup", null, null, null },
        { "/", "host", null, null, null },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Path_facts(string path, string runtime, string? containerId, string? podUid, string? qos)
    {
        ContainerIdentity id = ContainerNaming.FromPath(path);
        Assert.Equal(runtime, id.Runtime);
        Assert.Equal(containerId, id.ContainerId);
        Assert.Equal(podUid, id.PodUid);
        Assert.Equal(qos, id.QosClass);
        if (containerId is not null)
            Assert.Equal(Short, id.Name);
        // The path alone never knows names kept on disk.
        Assert.Null(id.PodName);
        Assert.Null(id.Namespace);
        Assert.Null(id.ContainerName);
        Assert.Null(id.Image);
        Assert.Null(id.KubernetesName);
    }

    [Fact]
    public void Systemd_names_are_the_unit_without_its_type()
    {
        Assert.Equal("containerd", ContainerNaming.FromPath("/system.slice/containerd.service").Name);
        Assert.Equal($"crio-conmon-{Id}", ContainerNaming.FromPath($"/kubepods.slice/kubepods-pod{UidU}.slice/crio-conmon-{Id}.scope").Name);
    }

    [Fact]
    public void Pod_uid_spellings_agree()
    {
        ContainerIdentity systemd = ContainerNaming.FromPath($"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice/cri-containerd-{Id}.scope");
        ContainerIdentity cgroupfs = ContainerNaming.FromPath($"/kubepods/burstable/pod{Uid}/{Id}");
        Assert.Equal(cgroupfs.PodUid, systemd.PodUid);
        Assert.DoesNotContain('_', systemd.PodUid!);
    }

    [Fact]
    public void Older_callers_still_build_identities_positionally()
    {
        var id = new ContainerIdentity("web", "docker", Id, null, null);
        Assert.Null(id.ContainerName);
        Assert.Equal("ns/pod/c", (id with { PodName = "pod", Namespace = "ns", ContainerName = "c" }).KubernetesName);
    }
}
