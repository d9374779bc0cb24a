using System.Globalization;
using System.Text;
using System.Text.Json;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Tests.Kernel;
using AIOps.Trace.Tests.Kernel.Serve;

namespace AIOps.Trace.Tests.Unit.Analysis.Cluster;

/// <summary>`aiops-trace analyze --prometheus URL --once`, run as a process against a stand-in Prometheus: no kernel, no privileges.</summary>
public sealed class AnalyzeCliTests : IDisposable
{
    private readonly FakePrometheus _prometheus = new();

    public void Dispose() => _prometheus.Dispose();

    /// <summary>Six replicas of "web", two on each of three nodes, the one on node-b at index 3 far off on throttling and run-queue latency.</summary>
    private void PlantCluster()
    {
        var r = new Random(7);
        var series = new List<(string Node, string Cgroup, MetricVector Vector)>();
        for (int i = 0; i < 6; i++)
        {
            string node = $"node-{(char)('a' + i / 2)}", cgroup = $"/aiops/{node}/web-{i}";
            series.Add((node, cgroup, i == 3
                ? Synthetic.Shifted(r, cgroup, 40, Metrics.ThrottledRatio, Metrics.RunQueueP99Us)
                : Synthetic.Normal(r, cgroup)));
        }
        string vector = VectorAnswer(series);
        _prometheus.Answer = q => q.StartsWith("(quantile_over_time(0.5, ", StringComparison.Ordinal) ? (200, vector)
            : q == "aiops_trace_diagnosis == 1" ? (200, """
                {"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"__name__":"aiops_trace_diagnosis","cgroup":"/aiops/node-b/web-3","node":"node-b","resource":"cpu","outcome":"cap_throttled"},"value":[1.7e9,"1"]}]}}
                """)
            : (200, PrometheusRecordings.Empty);
    }

    /// <summary>An instant-vector answer carrying each container's vector slots as Prometheus would.</summary>
    private static string VectorAnswer(IEnumerable<(string Node, string Cgroup, MetricVector Vector)> series)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("status", "success");
            w.WriteStartObject("data");
            w.WriteString("resultType", "vector");
            w.WriteStartArray("result");
            foreach ((string node, string cgroup, MetricVector v) in series)
                for (int slot = 0; slot < Metrics.Count; slot++)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("metric");
                    w.WriteString("cgroup", cgroup);
                    w.WriteString("node", node);
                    w.WriteString("metric", Metrics.Names[slot]);
                    w.WriteEndObject();
                    w.WriteStartArray("value");
                    w.WriteNumberValue(1.7e9);
                    w.WriteStringValue(double.IsNaN(v[slot]) ? "NaN" : v[slot].ToString("R", CultureInfo.InvariantCulture));
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Fact]
    public void Once_json_names_the_faulty_replica_and_its_node_among_three_nodes()
    {
        PlantCluster();
        (int code, string stdout, string stderr) = CliProcess.Run("analyze", "--prometheus", _prometheus.Url.ToString(), "--once", "--json", "--window", "30s");
        Assert.True(code == 0, stderr);
        using JsonDocument d = JsonDocument.Parse(stdout);
        JsonElement web = Assert.Single(d.RootElement.GetProperty("domains").EnumerateArray());
        Assert.Equal("owner:web", web.GetProperty("id").GetString());
        JsonElement[] verdicts = web.GetProperty("verdicts").EnumerateArray().ToArray();
        Assert.Equal(6, verdicts.Length);
        Assert.Equal(3, verdicts.Select(v => v.GetProperty("node").GetString()).Distinct().Count());
        JsonElement bad = Assert.Single(verdicts, v => v.GetProperty("status").GetString() == "abnormal");
        Assert.Equal(verdicts[0], bad); // abnormal first
        Assert.Equal(("node-b:/aiops/node-b/web-3", "node-b", "cpu: cap_throttled"),
            (bad.GetProperty("key").GetString(), bad.GetProperty("node").GetString(), bad.GetProperty("diagnosis").GetString()));
        Assert.Contains(bad.GetProperty("off_metrics").EnumerateArray(), m => m.GetProperty("metric").GetString() == "throttled_ratio");
        Assert.Equal(5, bad.GetProperty("peers").GetArrayLength());
        Assert.Contains("web", bad.GetProperty("membership").GetString());
        Assert.StartsWith("prometheus http://127.0.0.1:", d.RootElement.GetProperty("source").GetString());
        Assert.Contains("aiops_trace_container_vector{metric!~\"runq_p50_us|runq_p99_us\"}[30s]", _prometheus.Requests.First().Query);
    }

    [Fact]
    public void Once_text_lists_the_abnormal_replica_first_with_what_is_off()
    {
        PlantCluster();
        (int code, string stdout, string stderr) = CliProcess.Run("analyze", "--prometheus", _prometheus.Url.ToString(), "--once");
        Assert.True(code == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("6 containers on 3 node(s) in 1 domain(s), 1 abnormal", lines[0]);
        string first = lines.First(l => l.StartsWith("  ", StringComparison.Ordinal) && !l.StartsWith("    ", StringComparison.Ordinal));
        Assert.StartsWith("  abnormal", first);
        Assert.Contains("node-b:/aiops/node-b/web-3  node node-b", first);
        Assert.Contains("diagnosis cpu: cap_throttled", first);
        Assert.Contains(lines, l => l.StartsWith("    off: ", StringComparison.Ordinal) && l.Contains("throttled_ratio"));
    }

    [Fact]
    public void An_unreadable_source_is_one_line_and_exit_code_1()
    {
        string url = $"http://127.0.0.1:{FakePrometheus.FreePort()}/";
        (int code, string stdout, string stderr) = CliProcess.Run("analyze", "--prometheus", url, "--once");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"aiops-trace: prometheus {url}: cannot be reached", stderr);
        Assert.Single(stderr.Trim().Split('\n'));

        _prometheus.Answer = _ => (200, PrometheusRecordings.Empty);
        (code, _, stderr) = CliProcess.Run("analyze", "--prometheus", _prometheus.Url.ToString(), "--once", "--json");
        Assert.Equal(1, code);
        Assert.Contains("no aiops_trace_container_vector series in the last 60s", stderr);
    }

    [Fact]
    public void Serving_answers_the_verdicts_api_from_rounds_pulled_from_prometheus()
    {
        PlantCluster();
        // Ready once the first round was pulled and analysed.
        using ServeProcess analyze = ServeProcess.StartCommand("analyze", null, "--prometheus", _prometheus.Url.ToString(), "--interval", "1s");
        Assert.Contains($"analysing prometheus {_prometheus.Url} every 1s over 60s, domains by owner", analyze.Stdout);
        using JsonDocument d = analyze.GetJson("api/v1/verdicts");
        JsonElement bad = Assert.Single(d.RootElement.GetProperty("verdicts").EnumerateArray(), v => v.GetProperty("status").GetString() == "abnormal");
        Assert.Equal(("node-b:/aiops/node-b/web-3", "cpu: cap_throttled"), (bad.GetProperty("container").GetString(), bad.GetProperty("diagnosis").GetString()));
        Assert.Equal(5, bad.GetProperty("peers").GetArrayLength());
        // Bound and serving, it needs no capability at all: every thread has given up all of them.
        analyze.WaitForStdout("capabilities limited on every thread: kept none");
        Assert.All(ProcFs.ThreadCapabilities(analyze.Pid), t => Assert.Equal((0UL, 0UL, true), (t.Effective, t.Permitted, t.NoNewPrivs)));
        Assert.Equal(0, analyze.Terminate());
        Assert.Contains("aiops-trace: stopped", analyze.Stdout);
    }

    [Theory]
    [InlineData(new[] { "analyze", "--once" }, "analyze needs --prometheus URL")]
    [InlineData(new[] { "analyze", "--prometheus", "prometheus:9090", "--once" }, "--prometheus 'prometheus:9090' is not a URL")]
    [InlineData(new[] { "analyze", "--prometheus", "ftp://x/", "--once" }, "--prometheus 'ftp://x/' is not a URL")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--once", "--domains", "colour" }, "--domains 'colour' is not a grouping")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--once", "--window", "0.5s" }, "--window 0.5s is out of range")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--json" }, "--json prints one round: it goes with --once")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--once", "--listen", "127.0.0.1:0" }, "--once prints one round and exits")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--once", "--prometheus-token-file", "/nonexistent/t" }, "--prometheus-token-file '/nonexistent/t' cannot be read")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--once", "--colour", "red" }, "unknown option --colour")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--listen", "0.0.0.0:0" }, "--listen 0.0.0.0:0 is not a loopback address: serving it needs --token-file FILE")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--listen", "somewhere" }, "--listen 'somewhere' is not an address")]
    [InlineData(new[] { "analyze", "--prometheus", "http://x/", "--interval", "0.5s" }, "--interval 0.5s is out of range")]
    public void Bad_input_is_one_line_and_exit_code_2(string[] args, string message)
    {
        (int code, _, string stderr) = CliProcess.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("aiops-trace: ", stderr);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
