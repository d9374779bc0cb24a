using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// Identity from the node's disk: a host root written to a temp directory with the kubelet's
/// log layout and each runtime's container state, as real files (see <see cref="FakeHost"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IdentityResolverTests : IDisposable
{
    private const string Web = "1111111111111111111111111111111111111111111111111111111111111111";
    private const string Sidecar = "2222222222222222222222222222222222222222222222222222222222222222";
    private const string Pause = "3333333333333333333333333333333333333333333333333333333333333333";
    private const string Solo = "4444444444444444444444444444444444444444444444444444444444444444";
    private const string Uid = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    private const string UidU = "5e6f7a8b_9c0d_4e1f_8a2b_3c4d5e6f7a8b";
    private const string SoloUid = "0a0b0c0d-1e1f-4a4b-8c8d-9e9f0a0b0c0d";

    private readonly FakeHost _host = new();

    public void Dispose() => _host.Dispose();

    private static string SystemdPod(string uid, string id, string prefix = "cri-containerd-") =>
        $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid.Replace('-', '_')}.slice/{prefix}{id}.scope";

    [Fact]
    public void Kubelet_logs_name_pod_and_container_by_container_id()
    {
        _host.PodLogs("shop", "web-7d9f", Uid, "nginx", "envoy");
        _host.ContainerLogLink("web-7d9f", "shop", "nginx", Web);
        _host.ContainerLogLink("web-7d9f", "shop", "envoy", Sidecar);
        var resolver = new IdentityResolver(_host.Root);

        ContainerIdentity web = resolver.Resolve(SystemdPod(Uid, Web));
        Assert.Equal(("web-7d9f", "shop", "nginx"), (web.PodName, web.Namespace, web.ContainerName));
        Assert.Equal("shop/web-7d9f/nginx", web.KubernetesName);
        Assert.Equal((Uid, "burstable", "containerd"), (web.PodUid, web.QosClass, web.Runtime));

        // The cgroupfs spelling of the same pod (dashed UID, bare id) resolves alike.
        ContainerIdentity sidecar = resolver.Resolve($"/kubepods/burstable/pod{Uid}/{Sidecar}");
        Assert.Equal("shop/web-7d9f/envoy", sidecar.KubernetesName);

        // The pod's own cgroup has a pod but no container.
        ContainerIdentity pod = resolver.Resolve($"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UidU}.slice");
        Assert.Equal(("web-7d9f", "shop", null), (pod.PodName, pod.Namespace, pod.ContainerName));
        Assert.Equal(0, resolver.FailedLookups);
    }

    [Fact]
    public void Several_containers_and_no_per_id_record_leave_the_container_name_null()
    {
        _host.PodLogs("shop", "web-7d9f", Uid, "nginx", "envoy");
        var resolver = new IdentityResolver(_host.Root);

        ContainerIdentity id = resolver.Resolve(SystemdPod(Uid, Web));
        Assert.Equal(("web-7d9f", "shop"), (id.PodName, id.Namespace));
        Assert.Null(id.ContainerName);
        Assert.Null(id.KubernetesName);
    }

    [Fact]
    public void A_pod_with_one_container_directory_names_it()
    {
        _host.PodLogs("batch", "report-1", SoloUid, "worker");
        ContainerIdentity id = new IdentityResolver(_host.Root).Resolve($"/kubepods/besteffort/pod{SoloUid}/{Solo}");
        Assert.Equal("batch/report-1/worker", id.KubernetesName);
        Assert.Equal("besteffort", id.QosClass);
    }

    [Fact]
    public void Containerd_bundle_annotations_name_containers_and_sandboxes()
    {
        _host.PodLogs("shop", "web-7d9f", Uid, "nginx", "envoy");
        _host.ContainerdBundle(Web, "nginx", "web-7d9f", "shop", "docker.io/library/nginx:1.27", "container");
        _host.ContainerdBundle(Pause, null, "web-7d9f", "shop", "registry.k8s.io/pause:3.10", "sandbox");
        var resolver = new IdentityResolver(_host.Root);

        ContainerIdentity web = resolver.Resolve(SystemdPod(Uid, Web));
        Assert.Equal("shop/web-7d9f/nginx", web.KubernetesName);
        Assert.Equal("docker.io/library/nginx:1.27", web.Image);

        // The pause container belongs to the pod but is none of its spec's containers.
        ContainerIdentity pause = resolver.Resolve(SystemdPod(Uid, Pause));
        Assert.Equal(("web-7d9f", "shop", null), (pause.PodName, pause.Namespace, pause.ContainerName));
    }

    [Fact]
    public void Ctr_containers_are_named_by_their_task_bundle_not_by_their_path()
    {
        // ctr run puts a container at /<containerd namespace>/<id>; only the bundle tells it from a plain cgroup.
        _host.Write("run/containerd/io.containerd.runtime.v2.task/default/batch-7/config.json", """{"ociVersion":"1.1.0"}""");
        var resolver = new IdentityResolver(_host.Root);

        ContainerIdentity ctr = resolver.Resolve("/default/batch-7");
        Assert.Equal(("containerd", "batch-7", "batch-7", "batch-7"), (ctr.Runtime, ctr.ContainerId, ctr.ContainerName, ctr.Name));
        // Same depth, no bundle: a cgroup somebody made.
        Assert.Equal(("cgroup", null), (resolver.Resolve("/default/batch-8").Runtime, resolver.Resolve("/default/batch-8").ContainerId));
        Assert.Equal("cgroup", resolver.Resolve("/batch-7").Runtime);
    }

    [Fact]
    public void Crio_userdata_annotations_name_containers()
    {
        _host.CrioConfig(Web, "nginx", "web-7d9f", "shop", "docker.io/library/nginx:1.27");
        ContainerIdentity id = new IdentityResolver(_host.Root).Resolve(SystemdPod(Uid, Web, "crio-"));
        Assert.Equal(("crio", "shop/web-7d9f/nginx", "docker.io/library/nginx:1.27"), (id.Runtime, id.KubernetesName, id.Image));
    }

    [Fact]
    public void Docker_config_gives_name_without_slash_and_image()
    {
        _host.Write($"var/lib/docker/containers/{Web}/config.v2.json",
            """{"ID":"x","Name":"/web","Config":{"Image":"nginx:1.27","Labels":{}},"State":{"Running":true}}""");
        var resolver = new IdentityResolver(_host.Root);

        foreach (string path in new[] { $"/docker/{Web}", $"/system.slice/docker-{Web}.scope" })
        {
            ContainerIdentity id = resolver.Resolve(path);
            Assert.Equal(("docker", "web", "nginx:1.27"), (id.Runtime, id.ContainerName, id.Image));
            Assert.Null(id.PodName);
        }
    }

    [Fact]
    public void Podman_storage_gives_name_and_image()
    {
        _host.Write("var/lib/containers/storage/overlay-containers/containers.json",
            $$"""[{"id":"{{Sidecar}}","names":["other"]},{"id":"{{Web}}","names":["web"],"metadata":"{\"image-name\":\"quay.io/podman/hello:latest\",\"name\":\"web\"}"}]""");
        ContainerIdentity id = new IdentityResolver(_host.Root).Resolve($"/machine.slice/libpod-{Web}.scope");
        Assert.Equal(("podman", "web", "quay.io/podman/hello:latest"), (id.Runtime, id.ContainerName, id.Image));
    }

    [Fact]
    public void Malformed_and_unreadable_state_gives_nulls_and_counts_failures()
    {
        _host.Write($"var/lib/docker/containers/{Web}/config.v2.json", """{"Name":"/web","Config":{"Ima""");
        // A directory where the file should be cannot be opened, even by root.
        Directory.CreateDirectory(Path.Combine(_host.Root, $"var/lib/docker/containers/{Sidecar}/config.v2.json"));
        // An unreadable pod directory: mode 000 stops everyone but root, the symlink loop stops root too.
        string locked = Path.Combine(_host.Root, $"var/log/pods/shop_web-7d9f_{Uid}");
        Directory.CreateDirectory(locked);
        File.CreateSymbolicLink(Path.Combine(_host.Root, "var/log/containers"), Path.Combine(_host.Root, "var/log/containers"));
        File.SetUnixFileMode(locked, UnixFileMode.None);
        var resolver = new IdentityResolver(_host.Root);

        ContainerIdentity web = resolver.Resolve($"/docker/{Web}");
        ContainerIdentity sidecar = resolver.Resolve($"/docker/{Sidecar}");
        ContainerIdentity pod = resolver.Resolve(SystemdPod(Uid, Solo));

        Assert.Equal(("docker", Web, null, null), (web.Runtime, web.ContainerId, web.ContainerName, web.Image));
        Assert.Equal(("docker", Sidecar, null, null), (sidecar.Runtime, sidecar.ContainerId, sidecar.ContainerName, sidecar.Image));
        Assert.Equal(Uid, pod.PodUid);
        Assert.Null(pod.ContainerName);
        Assert.True(resolver.FailedLookups >= 2, $"failed lookups: {resolver.FailedLookups}");
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void A_missing_host_root_gives_path_facts_only()
    {
        var resolver = new IdentityResolver(Path.Combine(_host.Root, "nowhere"));
        ContainerIdentity id = resolver.Resolve(SystemdPod(Uid, Web));
        Assert.Equal(ContainerNaming.FromPath(SystemdPod(Uid, Web)), id);
        Assert.Equal(0, resolver.FailedLookups);
        Assert.True(resolver.MissingLookups > 0);
    }
}
