using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Partitioning;

namespace AIOps.Trace.Tests.Unit.Analysis;

public sealed class PartitioningTests
{
    private static ContainerAttributes A(string key, string runtime, string? image, string? owner, string? qos,
        double quota, double shares, double cpuset, double memory, string? node = null, Dictionary<string, string>? labels = null) =>
        new(key, runtime, image, owner, "deployment", labels ?? new(), qos, quota, shares, cpuset, memory, node);

    [Fact]
    public void Gower_distance_matches_hand_computed_cases()
    {
        var rows = new[]
        {
            A("a", "docker", "nginx", "web", "burstable", 1.0, 1024, 2, 100, "n1"),
            A("b", "docker", "redis", "web", "burstable", 3.0, 1024, 4, 300, "n1"),
            A("c", "containerd", null, null, null, double.NaN, 2048, double.NaN, 200, "n1"),
        };
        var t = new AttributeTable(rows, includeNode: true, includeMutableLimits: true);
        // a-b: categorical runtime 0, image 1, owner 0, qos 0, node 0; numeric quota |1-3|/2 = 1, shares 0 (range 1024: 0/1024),
        // cpuset |2-4|/2 = 1, memory |100-300|/200 = 1: (0+1+0+0+0 + 1+0+1+1) / 9 = 4/9.
        Assert.Equal(4.0 / 9, t.Distance(0, 1), 12);
        // a-c: runtime 1, node 0 (image, owner, qos missing on c); shares |1024-2048|/1024 = 1, memory |100-200|/200 = 0.5: 2.5 / 4.
        Assert.Equal(2.5 / 4, t.Distance(0, 2), 12);
        // Without the node (the default): a-b 4/8, a-c 2.5/3.
        var withoutNode = new AttributeTable(rows, includeMutableLimits: true);
        Assert.Equal(0.5, withoutNode.Distance(0, 1), 12);
        Assert.Equal(2.5 / 3, withoutNode.Distance(0, 2), 12);
        // By default neither the node nor the limits one replica's fault changes (quota, cpuset,
        // memory): a-b runtime 0, image 1, owner 0, qos 0, shares 0: 1/5; a-c runtime 1, shares 1: 2/2.
        var byDefault = new AttributeTable(rows);
        Assert.Equal(0.2, byDefault.Distance(0, 1), 12);
        Assert.Equal(1, byDefault.Distance(0, 2), 12);
        // The range floor: 1% memory jitter among equals is 0.01 / 0.5 of the scale, not all of it.
        var jitter = new AttributeTable([A("p", "docker", null, null, null, double.NaN, double.NaN, double.NaN, 100),
            A("q", "docker", null, null, null, double.NaN, double.NaN, double.NaN, 101)], includeMutableLimits: true);
        Assert.Equal((0 + 1 / 50.5) / 2, jitter.Distance(0, 1), 12);
        Assert.Equal(t.Distance(1, 2), t.Distance(2, 1));
        Assert.Equal(0, t.Distance(1, 1));
        var nothing = new AttributeTable([A("x", "docker", null, null, null, double.NaN, double.NaN, double.NaN, double.NaN)
            with { Runtime = null! }, A("y", "docker", null, null, null, double.NaN, double.NaN, double.NaN, double.NaN) with { Runtime = null! }]);
        Assert.Equal(1, nothing.Distance(0, 1)); // nothing in common is known: as far apart as possible
    }

    [Fact]
    public void By_tag_groups_in_one_pass_and_explains_membership()
    {
        var rows = new[]
        {
            A("a", "docker", "nginx", "shop/web", null, 1, 1024, 2, 1, labels: new() { ["tier"] = "front" }),
            A("b", "docker", "nginx", "shop/web", null, 1, 1024, 2, 1, labels: new() { ["tier"] = "front" }),
            A("c", "docker", "redis", "shop/cache", null, 1, 1024, 2, 1),
        };
        Partition byOwner = DomainPartitioner.ByTag(rows);
        Assert.Equal(2, byOwner.Domains.Count);
        Assert.Equal(["a", "b"], byOwner.Domains.Single(d => d.Id == "owner:shop/web").Members);
        Assert.Equal("owner is shop/web", byOwner.Memberships["a"].Explanation);

        Partition byLabel = DomainPartitioner.ByTag(rows, "label:tier");
        Assert.Equal(["c"], byLabel.Domains.Single(d => d.Id == "label:tier:(none)").Members);
        Assert.Throws<ArgumentException>(() => DomainPartitioner.ByTag(rows, "colour"));
    }

    /// <summary>Three planted environments: web (docker, nginx, 1 CPU), batch (containerd, 4 CPUs), db (crio, 8 GiB).</summary>
    private static List<ContainerAttributes> Planted(int perGroup, int seed)
    {
        var r = new Random(seed);
        var rows = new List<ContainerAttributes>();
        for (int i = 0; i < perGroup; i++)
        {
            rows.Add(A($"web{i}", "docker", "nginx:1.27", "shop/web", "burstable", 1 + 0.1 * r.NextDouble(), 1024, 2, 256e6 * (1 + 0.1 * r.NextDouble()), $"n{r.Next(3)}"));
            rows.Add(A($"batch{i}", "containerd", "spark:3", "jobs/spark", "besteffort", 4 + 0.2 * r.NextDouble(), 4096, 8, 2e9 * (1 + 0.1 * r.NextDouble()), $"n{r.Next(3)}"));
            rows.Add(A($"db{i}", "crio", "postgres:16", "data/pg", "guaranteed", 2 + 0.1 * r.NextDouble(), 2048, 4, 8e9 * (1 + 0.05 * r.NextDouble()), $"n{r.Next(3)}"));
        }
        return rows.OrderBy(_ => r.Next()).ToList();
    }

    [Theory]
    [InlineData(10)]   // PAM
    [InlineData(120)]  // 360 rows: CLARA
    public void K_medoids_with_Gower_recovers_three_planted_groups(int perGroup)
    {
        List<ContainerAttributes> rows = Planted(perGroup, seed: perGroup);
        Partition p = DomainPartitioner.ByEnvironment(rows, maxK: 8);
        Assert.Equal(3, p.Domains.Count);
        Assert.True(p.Silhouette > 0.5, $"silhouette {p.Silhouette}");
        foreach (MonitoringDomain d in p.Domains)
        {
            string group = new(d.Members[0].TakeWhile(char.IsLetter).ToArray());
            Assert.All(d.Members, m => Assert.StartsWith(group, m));
            Assert.Equal(perGroup, d.Members.Count);
        }
        Membership web = p.Memberships[rows.First(r => r.Key.StartsWith("web") && p.Memberships[r.Key].Medoid != r.Key).Key];
        Assert.Contains("image=nginx:1.27", web.Matched!);
        Assert.Contains("runtime=docker", web.Matched!);
        Assert.Contains("nearest medoid web", web.Explanation);
    }

    [Fact]
    public void Homogeneous_containers_stay_one_domain()
    {
        var r = new Random(3);
        var rows = Enumerable.Range(0, 30).Select(i => A($"w{i}", "docker", "nginx", "shop/web", "burstable", 1, 1024, 2, 256e6 * (1 + 0.01 * r.NextDouble()))).ToList();
        Assert.Single(DomainPartitioner.ByEnvironment(rows).Domains);
    }
}
