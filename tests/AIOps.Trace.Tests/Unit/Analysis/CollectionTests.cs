using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit.Analysis;

public sealed class CollectionTests
{
    [Theory]
    [InlineData("web-7d9f8b6c5d-x2k4p", "deployment", "web")]
    [InlineData("api-server-5f6b9c8d7-q9wzt", "deployment", "api-server")]
    [InlineData("redis-0", "statefulset", "redis")]
    [InlineData("kafka-broker-12", "statefulset", "kafka-broker")]
    [InlineData("node-exporter-7x2kq", "daemonset-or-job", "node-exporter")]
    [InlineData("backup-28374650-z8x7c", "daemonset-or-job", "backup-28374650")]
    [InlineData("debug-shell", "pod", "debug-shell")]
    [InlineData("web-abcde", "pod", "web-abcde")] // vowels never appear in generated suffixes
    public void Owner_is_derived_from_the_pod_name_like_the_controllers_build_it(string pod, string kind, string owner)
    {
        Assert.Equal(new OwnerWorkload(kind, owner), OwnerWorkloads.FromPodName(pod));
    }

    [Fact]
    public void Attributes_come_from_identity_and_limits()
    {
        var identity = new ContainerIdentity("3f4e8a9b2c1d", ContainerRuntime.Containerd, "3f4e8a9b2c1d00", "uid", "burstable",
            "web-7d9f8b6c5d-x2k4p", "shop", "nginx", "docker.io/library/nginx:1.27");
        var v2 = new CpuLimits(50_000, 100_000, -1, 100, "0-3");
        ContainerAttributes a = ContainerAttributes.From("/kubepods/x", identity, v2, 512L << 20, "node-a",
            new Dictionary<string, string> { ["app"] = "web" });
        Assert.Equal("shop/web", a.Owner);
        Assert.Equal("deployment", a.OwnerKind);
        Assert.Equal(0.5, a.CpuQuotaCores);
        Assert.Equal(1024, a.CpuShares); // v2 weight 100 = v1 1024 shares
        Assert.Equal(4, a.CpusetSize);
        Assert.Equal(512.0 * (1 << 20), a.MemoryLimitBytes);
        Assert.Equal("burstable", a.QosClass);
        Assert.Equal("web", a.Labels["app"]);

        ContainerAttributes docker = ContainerAttributes.From("/docker/abc",
            new ContainerIdentity("abc", ContainerRuntime.Docker, "abc", null, null, Image: "registry:5000/team/app:v2@sha256:00"),
            CpuLimits.Unknown);
        Assert.Equal("registry:5000/team/app", docker.Owner);
        Assert.Equal("image", docker.OwnerKind);
        Assert.True(double.IsNaN(docker.CpuQuotaCores) && double.IsNaN(docker.CpuShares) && double.IsNaN(docker.CpusetSize) && double.IsNaN(docker.MemoryLimitBytes));
        Assert.Equal("cgroup", ContainerAttributes.From("/x", null, CpuLimits.Unknown).Runtime);
    }

    [Theory]
    [InlineData("/aiops/node-a/web-0", "web")]
    [InlineData("/aiops/node-b/web-12", "web")]
    [InlineData("/system.slice/ssh.service", "ssh.service")]
    [InlineData("/user.slice/user-1000.slice/session-3.scope", "session-3.scope")]
    [InlineData("/batch/worker/", "worker")]
    public void An_unnamed_cgroup_is_owned_by_its_last_element_without_a_replica_ordinal(string key, string owner)
    {
        ContainerAttributes a = ContainerAttributes.From(key, null, CpuLimits.Unknown);
        Assert.Equal((owner, "cgroup"), (a.Owner, a.OwnerKind));
        Assert.Null(ContainerAttributes.From("/", null, CpuLimits.Unknown).Owner);
    }

    [Fact]
    public void Metric_vector_is_built_from_a_container_snapshot_per_second_with_absent_signals_as_NaN()
    {
        var c = new ContainerSnapshot
        {
            CgroupPath = "/a", PreemptedBySame = 10, PreemptedByOther = 40, PreemptedByHost = 6,
            Throttling = new ThrottlingFigures(20, 5, 1_000_000, 0, 0, "cgroupfs"), CpuUsageNs = 1_000_000_000,
        };
        for (int i = 0; i < 100; i++)
            c.RunQueue.Record(50_000); // 50 us
        MetricVector v = MetricVector.From(c, windowSeconds: 2,
            memory: new MemoryEvidence { UsageBytes = 80, LimitBytes = 100, LimitHits = 4, OomKills = 0 });
        Assert.Equal(50, v[Metrics.RunQueueP50Us], 0.05 * 50);
        Assert.Equal(50, v[Metrics.RunQueueP99Us], 0.05 * 50);
        Assert.Equal(5, v[Metrics.PreemptedBySamePerSecond]);
        Assert.Equal(20, v[Metrics.PreemptedByOtherPerSecond]);
        Assert.Equal(3, v[Metrics.PreemptedByHostPerSecond]);
        Assert.Equal(0.25, v[Metrics.ThrottledRatio]);
        Assert.Equal(0.5, v[Metrics.CpuUsageCores]);
        Assert.Equal(0.8, v[Metrics.MemoryUsageToLimit]);
        Assert.Equal(2, v[Metrics.MemoryLimitHitsPerSecond]);
        Assert.True(double.IsNaN(v[Metrics.DiskBytesPerSecond]));
        Assert.True(double.IsNaN(v[Metrics.NetworkRetransmitRatio]));
        Assert.Equal(Metrics.Count, Metrics.Names.Count);

        c.CpuUsageNs = -1; // the cgroup went with its counters
        Assert.True(double.IsNaN(MetricVector.From(c, 2)[Metrics.CpuUsageCores]));
    }
}
