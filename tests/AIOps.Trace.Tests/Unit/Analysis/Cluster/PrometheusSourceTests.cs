using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Tests.Unit.Analysis.Cluster;

/// <summary>PrometheusSource over real HTTP against recorded Prometheus answers, and every way the answer can be wrong.</summary>
public sealed class PrometheusSourceTests : IDisposable
{
    private readonly FakePrometheus _prometheus = new();

    public void Dispose() => _prometheus.Dispose();

    private IReadOnlyList<ContainerInput> Collect(TimeSpan? window = null, string? token = null, TimeSpan? timeout = null)
    {
        using var source = new PrometheusSource(_prometheus.Url, window ?? TimeSpan.FromSeconds(10), token, timeout);
        return source.CollectAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [Fact]
    public void Containers_are_keyed_by_node_and_cgroup_so_one_path_on_two_nodes_is_two_containers()
    {
        Dictionary<string, ContainerInput> c = Collect().ToDictionary(i => i.Attributes.Key);

        Assert.Equal(["node-a:/aiops/web-0", "node-a:/kubepods/pod1/c1", "node-b:/aiops/web-0"], c.Keys.Order());
        ContainerInput a = c["node-a:/aiops/web-0"], b = c["node-b:/aiops/web-0"], pod = c["node-a:/kubepods/pod1/c1"];
        Assert.Equal(("node-a", "node-b"), (a.Attributes.Node, b.Attributes.Node));
        Assert.Equal(a.Attributes.Key, a.Vector.Key);

        // Each slot from its metric label; absent or NaN slots are NaN; a slot this build does not know is left out.
        Assert.Equal(14.5, a.Vector[Metrics.RunQueueP50Us]);
        Assert.Equal(180, a.Vector[Metrics.RunQueueP99Us]);
        Assert.Equal(0, a.Vector[Metrics.ThrottledRatio]);
        Assert.Equal(0.95, b.Vector[Metrics.ThrottledRatio]);
        Assert.Equal(40000, b.Vector[Metrics.RunQueueP99Us]);
        Assert.True(double.IsNaN(a.Vector[Metrics.MemoryUsageToLimit]));
        Assert.True(double.IsNaN(pod.Vector[Metrics.ThrottledRatio]));
        Assert.True(double.IsNaN(b.Vector[Metrics.OomKills]));
        Assert.Equal(Metrics.Count, pod.Vector.Values.Length);

        // The owner from the info series; without one (node-b exports none), the cgroup's leaf without its ordinal.
        Assert.Equal(("web", "cgroup", "cgroup"), (a.Attributes.Owner, a.Attributes.OwnerKind, a.Attributes.Runtime));
        Assert.Equal(("web", "cgroup", "cgroup"), (b.Attributes.Owner, b.Attributes.OwnerKind, b.Attributes.Runtime));
        Assert.Equal(("shop/web", "statefulset", "containerd"), (pod.Attributes.Owner, pod.Attributes.OwnerKind, pod.Attributes.Runtime));
        Assert.Equal(("docker.io/library/nginx:1.27", "burstable"), (pod.Attributes.Image, pod.Attributes.QosClass));
        Assert.Null(a.Attributes.Image);

        // Limits by their limit label; NaN (unknown) and missing ones are NaN.
        Assert.Equal((0.5, 512.0, 2.0, 268435456.0),
            (pod.Attributes.CpuQuotaCores, pod.Attributes.CpuShares, pod.Attributes.CpusetSize, pod.Attributes.MemoryLimitBytes));
        Assert.Equal(0.2, b.Attributes.CpuQuotaCores);
        Assert.True(double.IsNaN(a.Attributes.CpuQuotaCores) && double.IsNaN(b.Attributes.MemoryLimitBytes));

        // The diagnosis: the finding when there is one, the CPU outcome when all is fine, none without series.
        Assert.Equal("cpu: cap_throttled", b.Diagnosis);
        Assert.Equal("cpu: not_throttled", a.Diagnosis);
        Assert.Null(pod.Diagnosis);
    }

    [Fact]
    public void The_vector_summarises_the_window_median_for_latency_quantiles_mean_for_rates_of_series_still_exported()
    {
        Collect(TimeSpan.FromSeconds(90));
        Collect(TimeSpan.FromMilliseconds(1500));
        string[] queries = _prometheus.Requests.Select(r => r.Query).ToArray();
        Assert.Equal([
            "(quantile_over_time(0.5, aiops_trace_container_vector{metric=~\"runq_p50_us|runq_p99_us\"}[90s]) or avg_over_time(aiops_trace_container_vector{metric!~\"runq_p50_us|runq_p99_us\"}[90s])) and aiops_trace_container_vector",
            "aiops_trace_container_info", "aiops_trace_container_limit", "aiops_trace_diagnosis == 1",
            "(quantile_over_time(0.5, aiops_trace_container_vector{metric=~\"runq_p50_us|runq_p99_us\"}[1500ms]) or avg_over_time(aiops_trace_container_vector{metric!~\"runq_p50_us|runq_p99_us\"}[1500ms])) and aiops_trace_container_vector",
            "aiops_trace_container_info", "aiops_trace_container_limit", "aiops_trace_diagnosis == 1",
        ], queries);
        Assert.All(_prometheus.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public void A_bearer_token_is_sent_with_every_query()
    {
        Collect(token: "0123456789abcdef-token");
        Assert.Equal(4, _prometheus.Requests.Count);
        Assert.All(_prometheus.Requests, r => Assert.Equal("Bearer 0123456789abcdef-token", r.Authorization));
    }

    [Fact]
    public void Too_few_peers_across_nodes_is_said_not_guessed()
    {
        // node-a and node-b each run a replica of "web": one domain of two, from two nodes.
        using var pipeline = new AnalysisPipeline();
        AnalysisRound round = pipeline.Run(Collect(), DateTimeOffset.UtcNow);
        Assert.Equal(["node-a:/aiops/web-0", "node-b:/aiops/web-0"], round.Partition.Domains.Single(d => d.Id == "owner:web").Members.Order());
        Assert.All(round.Verdicts.Where(v => v.Domain == "owner:web"), v => Assert.Equal("too_few_peers", v.Status));
        Assert.Equal("cpu: cap_throttled", round.Verdicts.Single(v => v.Key == "node-b:/aiops/web-0").Diagnosis);
    }

    public static TheoryData<string, int, string, string> BadAnswers => new()
    {
        { "prometheus error status", 400, PrometheusRecordings.BadData, "refused the query" },
        { "html from a proxy", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "answered HTTP 502 BadGateway: <html>" },
        { "truncated json", 200, PrometheusRecordings.Vector[..200], "answered with something other than Prometheus JSON" },
        { "not json at all", 200, "hello", "answered with something other than Prometheus JSON" },
        { "no series", 200, PrometheusRecordings.Empty, "no aiops_trace_container_vector series in the last 10s" },
        { "a range result", 200, """{"status":"success","data":{"resultType":"matrix","result":[]}}""", "with a matrix, not an instant vector" },
        { "a value without its string", 200, """{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,2]}]}}""", "a sample that is not [time, \"value\"]" },
        { "no data", 200, """{"status":"success"}""", "answered without a result" },
    };

    [Theory]
    [MemberData(nameof(BadAnswers))]
    public void A_bad_answer_is_one_line_naming_the_server_and_what_was_wrong(string what, int status, string body, string message)
    {
        _prometheus.Answer = _ => (status, body);
        var e = Assert.Throws<ContainerSourceException>(() => Collect());
        Assert.StartsWith($"prometheus {_prometheus.Url}: ", e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(e.Message.Length < 400, $"{what}: {e.Message.Length} characters");
    }

    [Fact]
    public void Prometheus_own_error_is_quoted()
    {
        _prometheus.Answer = _ => (400, PrometheusRecordings.BadData);
        var e = Assert.Throws<ContainerSourceException>(() => Collect());
        Assert.Contains("bad_data: invalid parameter \"query\"", e.Message);
    }

    [Fact]
    public void An_unreachable_server_is_named()
    {
        var url = new Uri($"http://127.0.0.1:{FakePrometheus.FreePort()}/");
        using var source = new PrometheusSource(url, TimeSpan.FromMinutes(1));
        var e = Assert.Throws<ContainerSourceException>(() => source.CollectAsync(CancellationToken.None).GetAwaiter().GetResult());
        Assert.StartsWith($"prometheus {url}: cannot be reached (", e.Message);
        Assert.Contains("refused", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_server_that_does_not_answer_in_time_is_named()
    {
        _prometheus.Delay = TimeSpan.FromSeconds(3);
        var e = Assert.Throws<ContainerSourceException>(() => Collect(timeout: TimeSpan.FromSeconds(1)));
        Assert.Equal($"prometheus {_prometheus.Url}: did not answer within 1s", e.Message);
    }

    [Fact]
    public void A_path_prefix_is_kept()
    {
        using var source = new PrometheusSource(new Uri(_prometheus.Url, "prometheus"), TimeSpan.FromMinutes(1));
        var e = Assert.Throws<ContainerSourceException>(() => source.CollectAsync(CancellationToken.None).GetAwaiter().GetResult());
        Assert.Contains("answered HTTP 404", e.Message); // asked /prometheus/api/v1/query, not /api/v1/query
    }

    [Theory]
    [InlineData("0.25", 0.25)]
    [InlineData("1e+06", 1e6)]
    [InlineData("-3", -3)]
    [InlineData("+Inf", double.PositiveInfinity)]
    [InlineData("-Inf", double.NegativeInfinity)]
    public void Values_are_read_as_Prometheus_writes_them(string text, double value)
    {
        Assert.True(PrometheusClient.TryParseValue(text, out double v));
        Assert.Equal(value, v);
        Assert.True(PrometheusClient.TryParseValue("NaN", out double nan) && double.IsNaN(nan));
        Assert.False(PrometheusClient.TryParseValue("ten", out _));
    }
}
