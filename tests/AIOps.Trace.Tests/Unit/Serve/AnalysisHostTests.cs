using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Server;
using AIOps.Trace.Tests.Kernel.Serve;
using AIOps.Trace.Tests.Unit.Analysis;

namespace AIOps.Trace.Tests.Unit.Serve;

/// <summary>
/// The analysis-only host (`analyze --listen` serves through it): rounds pulled from a source,
/// verdicts and domains on the API, labels stored, series on /metrics, a failing source reported
/// in /readyz while serving goes on. No engine, no kernel.
/// </summary>
public sealed class AnalysisHostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aiops-analysis-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serves_verdicts_domains_labels_and_series_of_pulled_rounds_and_reports_a_failing_source()
    {
        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var source = new FakeSource("node-{0}/kubepods/web-{1}");
        using VerdictStore store = VerdictStore.Open(Path.Combine(_dir, "verdicts.db"));
        using var pipeline = new AnalysisPipeline(new PipelineOptions(), store);
        var options = new SidecarOptions(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromMilliseconds(300), token, "cluster-a");
        using var stop = new CancellationTokenSource();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task host = SidecarHost.RunAnalysisAsync(pipeline, source, options, u => url.SetResult(u), store, stop.Token);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(await url.Task.WaitAsync(TimeSpan.FromSeconds(30))) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using (var anonymous = new HttpClient { BaseAddress = http.BaseAddress })
            {
                Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("healthz")).StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/v1/verdicts")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);   // the dashboard's page
            }
            await Until(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/v1/containers")).StatusCode);

            using (JsonDocument v = JsonDocument.Parse(await http.GetStringAsync("api/v1/verdicts")))
            {
                Assert.Equal("cluster-a", v.RootElement.GetProperty("node").GetString());
                // The planted replica (a round of random draws may flag another as well).
                JsonElement bad = Assert.Single(v.RootElement.GetProperty("verdicts").EnumerateArray(), x => x.GetProperty("container").GetString() == "node-1/kubepods/web-3");
                Assert.Equal("abnormal", bad.GetProperty("status").GetString());
                Assert.Equal("owner:web", bad.GetProperty("domain").GetString());
                Assert.Equal("cpu: cap_throttled", bad.GetProperty("diagnosis").GetString());
                Assert.Contains(bad.GetProperty("off_metrics").EnumerateArray(), m => m.GetProperty("metric").GetString() == "throttled_ratio");
            }
            using (JsonDocument d = JsonDocument.Parse(await http.GetStringAsync("api/v1/domains")))
                Assert.Equal(6, Assert.Single(d.RootElement.GetProperty("domains").EnumerateArray()).GetProperty("members").GetArrayLength());

            IReadOnlyList<PromSample> samples = PromText.Parse(await http.GetStringAsync("metrics"));
            Assert.Equal(6, samples.Count(s => s.Name == "aiops_trace_anomaly"));
            PromSample anomaly = Assert.Single(samples, s => s.Name == "aiops_trace_anomaly" && s.Label("container") == "node-1/kubepods/web-3");
            Assert.Equal((1.0, "node-1", "owner:web"), (anomaly.Value, anomaly.Label("node"), anomaly.Label("domain")));
            Assert.Equal(6 * Metrics.Count, samples.Count(s => s.Name == "aiops_trace_container_vector"));

            using (var content = new StringContent("""{"container": "node-1/kubepods/web-3", "abnormal": true, "kind": "cpu_cap"}""", Encoding.UTF8, "application/json"))
            using (HttpResponseMessage r = await http.PostAsync("api/v1/verdicts", content))
                Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            OperatorVerdict row = Assert.Single(pipeline.StoredVerdicts());
            Assert.Equal(("node-1/kubepods/web-3", "owner:web", "cpu_cap", Metrics.Count), (row.Container, row.Domain, row.Kind, row.Metrics!.Length));

            // The source fails: /readyz says why, the last verdicts stay served, and it recovers.
            source.Failing = true;
            await Until(async () => (await http.GetAsync("readyz")).StatusCode == HttpStatusCode.ServiceUnavailable);
            string why = await http.GetStringAsync("api/v1/verdicts");
            Assert.Contains("answered 503", why);
            using (HttpResponseMessage r = await http.GetAsync("readyz"))
                Assert.Contains("not ready: prometheus http://127.0.0.1:1 answered 503", await r.Content.ReadAsStringAsync()); // the message once, as the source worded it
            source.Failing = false;
            await Until(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode);
        }
        finally
        {
            await stop.CancelAsync();
            await host.WaitAsync(TimeSpan.FromSeconds(15));
        }
    }

    [Fact]
    public async Task A_corrupt_database_set_aside_at_start_is_named_in_the_verdicts_and_labels_are_refused_without_a_token()
    {
        string db = Path.Combine(_dir, "verdicts.db");
        File.WriteAllText(db, "this is not an SQLite database, it is a text file of some length");
        using VerdictStore store = VerdictStore.Open(db);
        using var pipeline = new AnalysisPipeline(new PipelineOptions(), store);
        var options = new SidecarOptions(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromMilliseconds(300), null, "cluster-a");
        using var stop = new CancellationTokenSource();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task host = SidecarHost.RunAnalysisAsync(pipeline, new FakeSource("n{0}/web-{1}"), options, u => url.SetResult(u), store, stop.Token);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(await url.Task.WaitAsync(TimeSpan.FromSeconds(30))) };
            await Until(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode);
            using (JsonDocument v = JsonDocument.Parse(await http.GetStringAsync("api/v1/verdicts")))
            {
                string problem = v.RootElement.GetProperty("store_problem").GetString()!;
                Assert.Contains(".corrupt-", problem);
                Assert.Contains("a new database was started", problem);
                Assert.False(v.RootElement.GetProperty("accepts_labels").GetBoolean());
            }
            Assert.Single(Directory.GetFiles(_dir, "verdicts.db.corrupt-*"));
            using var content = new StringContent("""{"container": "n1/web-3", "abnormal": true}""", Encoding.UTF8, "application/json");
            using HttpResponseMessage r = await http.PostAsync("api/v1/verdicts", content);
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            Assert.Contains("--token-file", await r.Content.ReadAsStringAsync());
            Assert.Empty(pipeline.StoredVerdicts());
        }
        finally
        {
            await stop.CancelAsync();
            await host.WaitAsync(TimeSpan.FromSeconds(15));
        }
    }

    private static async Task Until(Func<Task<bool>> done)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "condition not met in 15 s");
            await Task.Delay(100);
        }
    }
}

/// <summary>Replicas web-0..5 on two nodes, web-3 far off on throttling; failing while <see cref="Failing"/> is set.</summary>
/// <param name="keyFormat">The container key, from {0} the node number and {1} the replica ordinal.</param>
internal sealed class FakeSource(string keyFormat) : IContainerSource
{
    private readonly Random _random = new(3);
    public volatile bool Failing;

    public string Description => "fake source";

    public static string Key(string keyFormat, int replica) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, keyFormat, replica % 2, replica);

    public Task<IReadOnlyList<ContainerInput>> CollectAsync(CancellationToken cancel)
    {
        if (Failing)
            throw new ContainerSourceException("prometheus http://127.0.0.1:1 answered 503");
        var list = new List<ContainerInput>();
        for (int i = 0; i < 6; i++)
        {
            string key = Key(keyFormat, i);
            MetricVector v = i == 3 ? Synthetic.Shifted(_random, key, 40, Metrics.ThrottledRatio, Metrics.RunQueueP99Us) : Synthetic.Normal(_random, key);
            ContainerAttributes a = ContainerAttributes.From(key, null, CpuLimits.Unknown, node: $"node-{i % 2}");
            list.Add(new ContainerInput(a, v, i == 3 ? "cpu: cap_throttled" : null));
        }
        return Task.FromResult<IReadOnlyList<ContainerInput>>(list);
    }
}
