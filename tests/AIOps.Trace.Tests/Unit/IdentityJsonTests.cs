using System.Text.Json;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The identity fields of `snapshot --json`: present for every container, null when unknown.</summary>
public sealed class IdentityJsonTests
{
    private const string Id = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    private const string Uid = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";

    private static JsonElement Container(ContainerIdentity? identity, string name)
    {
        using var s = new EngineSnapshot(null)
        {
            Kernel = new KernelSummary("6.18", true, "ringbuf", "tp_btf", "cgroupfs", ""),
            Host = new HostSummary(2, 0.5),
            WindowSeconds = 1,
            LostEvents = 0,
            KernelCounters = default,
        };
        s.Containers.Add(new ContainerSnapshot { CgroupPath = "/x", Name = name, Runtime = identity?.Runtime ?? "", Identity = identity });
        using JsonDocument doc = JsonDocument.Parse(JsonSerializer.Serialize(AIOps.Trace.Contracts.SnapshotDocument.From(s), AIOps.Trace.Contracts.TraceJson.Default.SnapshotDocument));
        return doc.RootElement.GetProperty("containers")[0].Clone();
    }

    [Fact]
    public void A_kubernetes_container_carries_pod_names_and_image()
    {
        var id = new ContainerIdentity(Id[..12], "containerd", Id, Uid, "burstable", "web-7d9f", "shop", "nginx", "nginx:1.27");
        JsonElement c = Container(id, id.KubernetesName!);

        Assert.Equal("shop/web-7d9f/nginx", c.GetProperty("name").GetString());
        Assert.Equal(Id, c.GetProperty("container_id").GetString());
        Assert.Equal("nginx", c.GetProperty("container_name").GetString());
        Assert.Equal("nginx:1.27", c.GetProperty("image").GetString());
        JsonElement pod = c.GetProperty("pod");
        Assert.Equal(Uid, pod.GetProperty("uid").GetString());
        Assert.Equal("web-7d9f", pod.GetProperty("name").GetString());
        Assert.Equal("shop", pod.GetProperty("namespace").GetString());
        Assert.Equal("burstable", pod.GetProperty("qos").GetString());
    }

    [Fact]
    public void Unknown_facts_are_null_not_missing()
    {
        JsonElement plain = Container(new ContainerIdentity("web-1", "cgroup", null, null, null), "web-1");
        foreach (string field in new[] { "container_id", "pod", "container_name", "image" })
            Assert.Equal(JsonValueKind.Null, plain.GetProperty(field).ValueKind);

        // A pod found by UID whose names are not on this node's disk.
        JsonElement pod = Container(new ContainerIdentity(Id[..12], "crio", Id, Uid, "besteffort"), Id[..12]).GetProperty("pod");
        Assert.Equal(Uid, pod.GetProperty("uid").GetString());
        Assert.Equal(JsonValueKind.Null, pod.GetProperty("name").ValueKind);
        Assert.Equal("besteffort", pod.GetProperty("qos").GetString());

        Assert.Equal(JsonValueKind.Null, Container(null, "x").GetProperty("pod").ValueKind);
    }
}
