using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;
using AIOps.Trace.Tests.Kernel.Serve;

namespace AIOps.Trace.Tests.Kernel.Cluster;

/// <summary>
/// Cluster mode for real: three `serve` instances on loopback, each standing in for a node (its own
/// --node name, watching its own subtree of test cgroups), a real Prometheus scraping the three,
/// and `analyze --prometheus` finding the one faulty replica among nine reported by different
/// instances. Needs root (BPF, cgroups) and Debian's prometheus.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output) : KernelTestBase
{
    private static readonly string[] Nodes = ["node-a", "node-b", "node-c"];

    /// <summary>Replicas per node: three, so the faulty one has eight peers (with five, one noisy healthy replica could sway the peers' spread).</summary>
    private const int PerNode = 3;

    /// <summary>Replicas in the domain.</summary>
    private const int Replicas = 9;

    /// <summary>The replica given the fault: web-4, the second on node-b.</summary>
    private const int Faulty = 4;

    /// <summary>The span analyze averages over: long enough to smooth one-second windows on a busy 2-vCPU machine.</summary>
    private const string Window = "15s";

    /// <summary>A replica's steady light work: one process, 5% of a CPU in busy/sleep cycles, no forks (fork-heavy loops are noisy under load).</summary>
    private const string LightLoad = "stress-ng --cpu 1 --cpu-load 5 --quiet";

    /// <summary>
    /// Builds the cluster: /aiops-test-cluster-*/node-X/web-N, three replicas per node (web-0 .. web-8,
    /// one domain "owner:web"), each running the same light load, except web-4 on node-b, a busy
    /// loop capped at 5% of a CPU (throttled most periods). Returns
    /// Prometheus once it holds the window's samples of all nine.
    /// </summary>
    private (PrometheusProcess Prometheus, string Root) StartCluster()
    {
        TestCgroup root = NewCgroup("cluster");
        var serves = new List<ServeProcess>();
        for (int n = 0; n < Nodes.Length; n++)
        {
            TestCgroup node = Own(root.CreateChild(Nodes[n]));
            var args = new List<string> { "--interval", "1s", "--node", Nodes[n] };
            for (int i = PerNode * n; i < PerNode * (n + 1); i++)
            {
                TestCgroup web = Own(node.CreateChild($"web-{i}"));
                args.AddRange(["--cgroup", web.RelativePath]);
                if (i == Faulty)
                {
                    // 5% of a CPU in 20 ms periods: throttled in most periods even when other work
                    // saturates both CPUs (its fair share then is still above 5%).
                    web.WriteCpu("cpu.cfs_period_us", "20000");
                    web.WriteCpu("cpu.cfs_quota_us", "1000");
                    Track(web.Start(TestCgroup.BusyLoop));
                }
                else
                    Track(web.Start(LightLoad));
            }
            // The cgroups exist before serve starts: --cgroup names paths that must exist.
            serves.Add(Own(ServeProcess.Start(null, [.. args])));
        }
        PrometheusProcess prometheus = Own(PrometheusProcess.Start([.. serves.Select(s => s.Url)]));

        // All nine series present, then a full window of samples behind them.
        string all = $"count(count by (node, cgroup) (aiops_trace_container_vector{{cgroup=~\"{root.RelativePath}/.*\"}}))";
        var deadline = Stopwatch.StartNew();
        while (prometheus.Query(all, "").GetValueOrDefault("") < Replicas)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60),
                $"Prometheus does not hold the replicas' vectors after 60 s: {string.Join(", ", prometheus.Query("up", "instance"))}; " +
                $"prometheus said: {prometheus.Stderr}; serve said: {string.Join(" | ", serves.Select(s => s.Stderr))}");
            Thread.Sleep(1000);
        }
        // A full window: every replica's series scraped (once a second) at least 14 times in the last 15 s,
        // however many scrapes a loaded machine misses on the way.
        string full = $"min(count_over_time(aiops_trace_container_vector{{cgroup=~\"{root.RelativePath}/.*\", metric=\"cpu_usage_cores\"}}[{Window}]))";
        while (prometheus.Query(full, "").GetValueOrDefault("") < 14)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(120), $"Prometheus holds no full {Window} window of every replica after 120 s");
            Thread.Sleep(1000);
        }
        return (prometheus, root.RelativePath);
    }

    [Fact]
    public void Analyze_once_finds_the_faulty_replica_on_its_node_among_containers_from_three_instances()
    {
        (PrometheusProcess prometheus, string root) = StartCluster();

        (int code, string stdout, string stderr) = CliProcess.Run("analyze", "--prometheus", prometheus.Url.ToString(), "--once", "--json", "--window", Window);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        using JsonDocument d = JsonDocument.Parse(stdout);
        JsonElement web = Assert.Single(d.RootElement.GetProperty("domains").EnumerateArray(), e => e.GetProperty("id").GetString() == "owner:web");
        JsonElement[] verdicts = web.GetProperty("verdicts").EnumerateArray().ToArray();
        string Summary() => string.Join("; ", verdicts.Select(v =>
            $"{v.GetProperty("key").GetString()} {v.GetProperty("status").GetString()} score {v.GetProperty("score")} " +
            $"off [{string.Join(", ", v.GetProperty("off_metrics").EnumerateArray().Select(m => $"{m.GetProperty("metric").GetString()} {m.GetProperty("value")} vs {m.GetProperty("reference")}"))}] " +
            $"diagnosis {v.GetProperty("diagnosis")}"));

        output.WriteLine(Summary());

        // Nine replicas, three from each instance, each keyed by its node: the node label came from the instance that watched it.
        Assert.True(verdicts.Length == Replicas, Summary());
        foreach (JsonElement v in verdicts)
        {
            string node = v.GetProperty("node").GetString()!, key = v.GetProperty("key").GetString()!;
            Assert.StartsWith($"{node}:{root}/{node}/web-", key);
        }
        Assert.Equal(Nodes, verdicts.Select(v => v.GetProperty("node").GetString()).Distinct().Order());

        // The capped replica is abnormal, on node-b, set apart by what its cap does, and first by a
        // wide margin: on this loaded 2-vCPU VM a healthy replica's run-queue p50 of 190 us among
        // peers at 85 us was flagged in one run (score 1.4 against the faulty one's 793), so the
        // test asserts the ranking an operator reads, and precision is measured by the Detection target.
        JsonElement bad = Assert.Single(verdicts, v => v.GetProperty("key").GetString() == $"node-b:{root}/node-b/web-{Faulty}");
        Assert.True(bad.GetProperty("status").GetString() == "abnormal", Summary());
        AssertFarAhead("key", bad, verdicts, Summary);
        Assert.Equal("node-b", bad.GetProperty("node").GetString());
        Assert.Equal(Replicas - 1, bad.GetProperty("peers").GetArrayLength());
        // Its node's diagnosis, exported beside the vector, is shown beside the verdict.
        Assert.StartsWith("cpu: cap_throttled", bad.GetProperty("diagnosis").GetString());
        string[] off = bad.GetProperty("off_metrics").EnumerateArray().Select(m => m.GetProperty("metric").GetString()!).ToArray();
        Assert.True(off.Intersect(["throttled_ratio", "cpu_usage_cores", "runq_p50_us", "runq_p99_us"]).Any(), Summary());
    }

    /// <summary>The faulty replica scores at least ten times any other, and at most one other is (barely) abnormal.</summary>
    private static void AssertFarAhead(string keyProperty, JsonElement bad, JsonElement[] verdicts, Func<string> summary)
    {
        double score = bad.GetProperty("score").GetDouble();
        string key = bad.GetProperty(keyProperty).GetString()!;
        JsonElement[] others = verdicts.Where(v => v.GetProperty(keyProperty).GetString() != key
            && v.GetProperty("score").ValueKind == JsonValueKind.Number).ToArray();
        Assert.True(others.Length == verdicts.Length - 1, summary());
        Assert.True(others.All(v => v.GetProperty("score").GetDouble() * 10 <= score), summary());
        Assert.True(others.Count(v => v.GetProperty("status").GetString() == "abnormal") <= 1, summary());
    }

    [Fact]
    public void Analyze_listen_serves_the_faulty_replica_as_abnormal_on_the_verdicts_api_and_metrics()
    {
        (PrometheusProcess prometheus, string root) = StartCluster();
        string faulty = $"node-b:{root}/node-b/web-{Faulty}";

        // Ready once its first round was read from Prometheus and analysed.
        using ServeProcess analyze = ServeProcess.StartCommand("analyze", null,
            "--prometheus", prometheus.Url.ToString(), "--interval", "2s", "--window", Window);
        using JsonDocument d = analyze.GetJson("api/v1/verdicts");
        JsonElement[] verdicts = d.RootElement.GetProperty("verdicts").EnumerateArray()
            .Where(v => v.GetProperty("domain").GetString() == "owner:web").ToArray();
        string Summary() => string.Join("; ", verdicts.Select(v => $"{v.GetProperty("container").GetString()} {v.GetProperty("status").GetString()} score {v.GetProperty("score")}"));
        output.WriteLine(Summary());
        Assert.True(d.RootElement.GetProperty("seq").GetInt64() >= 1);
        Assert.Equal(JsonValueKind.Null, d.RootElement.GetProperty("failure").ValueKind);
        Assert.True(verdicts.Length == Replicas, Summary());
        JsonElement bad = Assert.Single(verdicts, v => v.GetProperty("container").GetString() == faulty);
        Assert.True(bad.GetProperty("status").GetString() == "abnormal", Summary());
        AssertFarAhead("container", bad, verdicts, Summary);
        Assert.StartsWith("cpu: cap_throttled", bad.GetProperty("diagnosis").GetString());
        Assert.True(bad.GetProperty("vector").GetProperty("throttled_ratio").GetDouble() > 0.5, Summary());

        // The domain spans the three nodes, and /metrics carries the verdict labelled by key and node.
        using JsonDocument domains = analyze.GetJson("api/v1/domains");
        JsonElement web = Assert.Single(domains.RootElement.GetProperty("domains").EnumerateArray(), e => e.GetProperty("id").GetString() == "owner:web");
        Assert.Equal(Nodes, web.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("container").GetString()![..6]).Distinct().Order());
        string metrics = analyze.Get("metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("aiops_trace_anomaly{", StringComparison.Ordinal)
            && l.Contains($"container=\"{faulty}\"") && l.Contains("node=\"node-b\"") && l.EndsWith(" 1", StringComparison.Ordinal));

        Assert.Equal(0, analyze.Terminate());
    }
}
