using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// A node whose /var/log/pods cannot serve: a file in its place, a dangling symlink, entries
/// the kubelet would never write. Identity falls back to what the cgroup path tells, and the
/// reason is there to print, once.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IdentityBadDiskTests : IDisposable
{
    private const string Id = "1111111111111111111111111111111111111111111111111111111111111111";
    private const string Uid = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    private static readonly string Path_ = $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{Uid.Replace('-', '_')}.slice/cri-containerd-{Id}.scope";

    private readonly FakeHost _host = new();

    public void Dispose() => _host.Dispose();

    private string Pods => Path.Combine(_host.Root, "var/log/pods");

    private static void AssertPathFactsOnly(ContainerIdentity id, string? path = null)
    {
        Assert.Equal(ContainerNaming.FromPath(path ?? Path_), id);
        Assert.Equal((Uid, "burstable", "containerd"), (id.PodUid, id.QosClass, id.Runtime));
        Assert.Null(id.PodName);
    }

    [Fact]
    public void A_file_where_var_log_pods_should_be_is_reported_once()
    {
        _host.Write("var/log/pods", "not a directory");
        var resolver = new IdentityResolver(_host.Root);

        AssertPathFactsOnly(resolver.Resolve(Path_));
        string other = Path_.Replace("cri-containerd-1", "cri-containerd-2");
        AssertPathFactsOnly(resolver.Resolve(other), other);

        string warning = Assert.Single(resolver.Warnings);
        Assert.Equal($"cannot list {Pods}: it is a file, not a directory; the names it holds are unknown, identity comes from the cgroup path alone", warning);
        Assert.True(resolver.FailedLookups >= 1);
    }

    [Fact]
    public void A_dangling_symlink_for_var_log_pods_is_reported()
    {
        Directory.CreateDirectory(Path.Combine(_host.Root, "var/log"));
        File.CreateSymbolicLink(Pods, "/nonexistent/aiops-pods");
        var resolver = new IdentityResolver(_host.Root);

        AssertPathFactsOnly(resolver.Resolve(Path_));

        Assert.Equal($"cannot list {Pods}: it is a symlink to /nonexistent/aiops-pods that does not resolve (dangling, or a loop); the names it holds are unknown, identity comes from the cgroup path alone", Assert.Single(resolver.Warnings));
    }

    [Fact]
    public void Entries_not_named_as_the_kubelet_names_them_are_skipped_and_reported()
    {
        Directory.CreateDirectory(Path.Combine(Pods, "garbage"));
        Directory.CreateDirectory(Path.Combine(Pods, "too_many_parts_here"));
        Directory.CreateDirectory(Path.Combine(Pods, $"_web_{Uid}"));
        _host.Write("var/log/pods/loose-file.log", "");
        _host.PodLogs("shop", "web-7d9f", Uid, "nginx");
        var resolver = new IdentityResolver(_host.Root);

        // The one well-named pod still names the container; the rest are ignored.
        ContainerIdentity id = resolver.Resolve(Path_);
        Assert.Equal("shop/web-7d9f/nginx", id.KubernetesName);
        string warning = Assert.Single(resolver.Warnings);
        Assert.StartsWith($"{Pods} holds entries not named <namespace>_<pod>_<uid> (e.g. '", warning);
    }

    [Fact]
    public void A_missing_var_log_pods_is_normal_and_not_a_warning()
    {
        var resolver = new IdentityResolver(_host.Root);
        AssertPathFactsOnly(resolver.Resolve(Path_));
        Assert.Empty(resolver.Warnings);
        Assert.Equal(0, resolver.FailedLookups);
    }
}
