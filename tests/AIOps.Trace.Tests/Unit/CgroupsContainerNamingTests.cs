using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

public class CgroupsContainerNamingTests
{
    private const string Id = "3f4e8a9b2c1d0e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f";
    private const string Short = "3f4e8a9b2c1d";
    private const string Uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    private const string UidUnderscored = "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0";

    public static TheoryData<string, ContainerIdentity> Layouts => new()
    {
        { "/", new("host", "host", null, null, null) },
        { "", new("host", "host", null, null, null) },

        // Docker: cgroupfs driver, systemd driver.
        { $"/docker/{Id}", new(Short, "docker", Id, null, null) },
        { $"/system.slice/docker-{Id}.scope", new(Short, "docker", Id, null, null) },

        // Kubernetes + containerd, cgroupfs driver: guaranteed pods have no QoS directory.
        { $"/kubepods/burstable/pod{Uid}/{Id}", new(Short, "containerd", Id, Uid, "burstable") },
        { $"/kubepods/besteffort/pod{Uid}/{Id}", new(Short, "containerd", Id, Uid, "besteffort") },
        { $"/kubepods/pod{Uid}/{Id}", new(Short, "containerd", Id, Uid, "guaranteed") },

        // Kubernetes + containerd, systemd driver: UIDs with underscores.
        {
            $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidUnderscored}.slice/cri-containerd-{Id}.scope",
            new(Short, "containerd", Id, Uid, "burstable")
        },
        {
            $"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UidUnderscored}.slice/cri-containerd-{Id}.scope",
            new(Short, "containerd", Id, Uid, "besteffort")
        },
        {
            $"/kubepods.slice/kubepods-pod{UidUnderscored}.slice/cri-containerd-{Id}.scope",
            new(Short, "containerd", Id, Uid, "guaranteed")
        },
        // kind / nested kubelets put kubepods under their own slice.
        {
            $"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod{UidUnderscored}.slice/cri-containerd-{Id}.scope",
            new(Short, "containerd", Id, Uid, "burstable")
        },

        // CRI-O: systemd driver, and the conmon monitor beside the container.
        {
            $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidUnderscored}.slice/crio-{Id}.scope",
            new(Short, "crio", Id, Uid, "burstable")
        },
        {
            $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidUnderscored}.slice/crio-conmon-{Id}.scope",
            new($"crio-conmon-{Id}", "systemd", null, Uid, "burstable")
        },
        { $"/kubepods/burstable/pod{Uid}/crio-{Id}", new(Short, "crio", Id, Uid, "burstable") },

        // Podman: systemd driver (rootful and rootless), --cgroups=split, cgroupfs driver.
        { $"/machine.slice/libpod-{Id}.scope", new(Short, "podman", Id, null, null) },
        {
            $"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{Id}.scope",
            new(Short, "podman", Id, null, null)
        },
        { $"/machine.slice/libpod-{Id}.scope/container", new(Short, "podman", Id, null, null) },
        { $"/libpod_parent/libpod-{Id}", new(Short, "podman", Id, null, null) },

        // The pod's own cgroup, without a container below it.
        {
            $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidUnderscored}.slice",
            new($"kubepods-burstable-pod{UidUnderscored}", "systemd", null, Uid, "burstable")
        },
        { $"/kubepods/burstable/pod{Uid}", new($"pod{Uid}", "cgroup", null, Uid, "burstable") },

        // systemd units, with \x escapes decoded.
        { "/system.slice/nginx.service", new("nginx", "systemd", null, null, null) },
        { "/user.slice/user-1000.slice/session-3.scope", new("session-3", "systemd", null, null, null) },
        { "/init.scope", new("init", "systemd", null, null, null) },
        { "/system.slice", new("system", "systemd", null, null, null) },
        { @"/system.slice/system-serial\x2dgetty.slice", new("system-serial-getty", "systemd", null, null, null) },

        // Plain cgroups, including hex that is not in a runtime's place.
        { "/aiops-test/web-1", new("web-1", "cgroup", null, null, null) },
        { $"/other/{Id}", new(Id, "cgroup", null, null, null) },
        { "/docker", new("docker", "cgroup", null, null, null) },
        { "/system.slice/docker-notanid.scope", new("docker-notanid", "systemd", null, null, null) },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void FromPath_RecognisesEachRuntimesLayout(string path, ContainerIdentity expected) =>
        Assert.Equal(expected, ContainerNaming.FromPath(path));
}
