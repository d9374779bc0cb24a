using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// The resolver's cache: complete answers are kept, misses are retried no more often than
/// <see cref="IdentityResolver.RetryInterval"/>, and the cache stays within its capacity.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IdentityCacheTests : IDisposable
{
    private const string Id = "1111111111111111111111111111111111111111111111111111111111111111";
    private const string Uid = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    private static readonly string PodPath = $"/kubepods/burstable/pod{Uid}/{Id}";

    private readonly FakeHost _host = new();
    private readonly ManualTime _time = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public void A_pod_created_after_its_first_lookup_is_named_after_the_retry_interval()
    {
        var resolver = new IdentityResolver(_host.Root, _time);
        Assert.Null(resolver.Resolve(PodPath).PodName);

        // The kubelet writes the pod's log directory a moment after the cgroup appears.
        _host.PodLogs("shop", "web-7d9f", Uid, "nginx");
        _host.ContainerLogLink("web-7d9f", "shop", "nginx", Id);
        _time.Advance(IdentityResolver.RetryInterval / 2);
        Assert.Null(resolver.Resolve(PodPath).PodName);

        _time.Advance(IdentityResolver.RetryInterval);
        Assert.Equal("shop/web-7d9f/nginx", resolver.Resolve(PodPath).KubernetesName);
    }

    [Fact]
    public void A_complete_answer_is_not_read_again()
    {
        _host.PodLogs("shop", "web-7d9f", Uid, "nginx");
        _host.ContainerLogLink("web-7d9f", "shop", "nginx", Id);
        var resolver = new IdentityResolver(_host.Root, _time);
        ContainerIdentity first = resolver.Resolve(PodPath);

        Directory.Delete(Path.Combine(_host.Root, "var/log"), recursive: true);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Same(first, resolver.Resolve(PodPath));
    }

    [Fact]
    public void The_cache_stays_within_its_capacity_under_churn()
    {
        var resolver = new IdentityResolver(_host.Root, _time, capacity: 16);
        for (int i = 0; i < 1000; i++)
        {
            resolver.Resolve($"/docker/{i:x64}");
            _time.Advance(TimeSpan.FromMilliseconds(10));
            Assert.InRange(resolver.CachedPaths, 1, 16);
        }
    }

    [Fact]
    public void Recently_used_paths_survive_eviction()
    {
        var resolver = new IdentityResolver(_host.Root, _time, capacity: 8);
        ContainerIdentity live = resolver.Resolve("/system.slice/nginx.service");
        for (int i = 0; i < 100; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            resolver.Resolve($"/batch/job-{i}");
            Assert.Same(live, resolver.Resolve("/system.slice/nginx.service"));
        }
    }

    [Fact]
    public void Forget_drops_a_removed_cgroup()
    {
        var resolver = new IdentityResolver(_host.Root, _time);
        resolver.Resolve(PodPath);
        resolver.Forget(PodPath);
        Assert.Equal(0, resolver.CachedPaths);
    }
}

/// <summary>A host root in a temp directory, laid out as the kubelet and the runtimes lay out a node.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class FakeHost : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("aiops-host-").FullName;

    public void Write(string relativePath, string content)
    {
        string path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    /// <summary>/var/log/pods/&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/0.log for each container.</summary>
    public void PodLogs(string ns, string pod, string uid, params string[] containers)
    {
        foreach (string c in containers)
            Write($"var/log/pods/{ns}_{pod}_{uid}/{c}/0.log", "2026-01-01T00:00:00Z stdout F started\n");
    }

    /// <summary>/var/log/containers/&lt;pod&gt;_&lt;namespace&gt;_&lt;container&gt;-&lt;id&gt;.log, a symlink as the kubelet makes it.</summary>
    public void ContainerLogLink(string pod, string ns, string container, string id)
    {
        string dir = Path.Combine(Root, "var/log/containers");
        Directory.CreateDirectory(dir);
        File.CreateSymbolicLink(Path.Combine(dir, $"{pod}_{ns}_{container}-{id}.log"), $"/var/log/pods/{ns}_{pod}_x/{container}/0.log");
    }

    public void ContainerdBundle(string id, string? container, string pod, string ns, string image, string type) =>
        Write($"run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json",
            $$"""
            {"ociVersion":"1.2.0","annotations":{
              "io.kubernetes.cri.container-type":"{{type}}",{{(container is null ? "" : $"\"io.kubernetes.cri.container-name\":\"{container}\",")}}
              "io.kubernetes.cri.sandbox-name":"{{pod}}","io.kubernetes.cri.sandbox-namespace":"{{ns}}",
              "io.kubernetes.cri.image-name":"{{image}}"} }
            """);

    public void CrioConfig(string id, string container, string pod, string ns, string image) =>
        Write($"run/containers/storage/overlay-containers/{id}/userdata/config.json",
            $$"""
            {"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri-o.ContainerType":"container",
              "io.kubernetes.container.name":"{{container}}","io.kubernetes.pod.name":"{{pod}}",
              "io.kubernetes.pod.namespace":"{{ns}}","io.kubernetes.cri-o.ImageName":"{{image}}"} }
            """);

    public void Dispose()
    {
        // Undo any mode 000 a test left, or the delete fails for non-root runs; links are skipped.
        var all = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (string dir in Directory.EnumerateDirectories(Root, "*", all))
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.Delete(Root, recursive: true);
    }
}
