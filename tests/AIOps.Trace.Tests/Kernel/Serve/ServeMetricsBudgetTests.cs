using System.Globalization;
using System.Text.Json;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Metrics;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>
/// `serve`'s default series budget against a real workload: each test container costs at most
/// the coarse budget, its coarse buckets are the JSON API's full-resolution counts summed at the
/// coarse bounds (same window), and the API keeps all 24 buckets.
/// </summary>
public sealed class ServeMetricsBudgetTests : KernelTestBase
{
    [Fact]
    public async Task The_default_budget_keeps_each_container_within_its_series_and_the_api_at_full_resolution()
    {
        TestCgroup capped = NewCgroup("metrics-budget");
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        TestCgroup sleeper = NewCgroup("metrics-budget-sleep");
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "500ms"));
        Track(capped.Start(TestCgroup.BusyLoop));
        Track(sleeper.Start("sh -c 'while :; do sleep 0.01; done'"));
        long started = serve.WaitForWindowAfter(0);
        serve.WaitForWindowAfter(started + 2);

        // /metrics and both containers' documents of one window (a cut may fall in between: retry).
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "no /metrics read fell between two reads of the same window in 30 s");
            using JsonDocument before = serve.GetJson("api/v1/containers");
            string text = serve.Get("metrics");
            var details = new Dictionary<string, JsonDocument>();
            foreach (TestCgroup cg in new[] { capped, sleeper })
            {
                string id = before.RootElement.GetProperty("containers").EnumerateArray()
                    .Single(c => c.GetProperty("cgroup").GetString() == cg.RelativePath).GetProperty("id").GetString()!;
                details[cg.RelativePath] = serve.GetJson("api/v1/containers/" + id);
            }
            using JsonDocument after = serve.GetJson("api/v1/containers");
            long seq = before.RootElement.GetProperty("seq").GetInt64();
            if (seq != after.RootElement.GetProperty("seq").GetInt64() || details.Values.Any(d => d.RootElement.GetProperty("seq").GetInt64() != seq))
            {
                foreach (JsonDocument d in details.Values)
                    d.Dispose();
                continue;
            }

            ServeMetricsTests.AssertPromtoolAccepts(text);
            IReadOnlyList<PromSample> samples = PromText.Parse(text);
            double[] coarseBounds = SeriesBudget.BoundsSeconds(RunQueueDetail.Coarse);
            foreach ((string cgroup, JsonDocument detail) in details)
            {
                var mine = samples.Where(s => s.Label("cgroup") == cgroup).ToList();
                Assert.InRange(mine.Count, 1, SeriesBudget.PerContainer(RunQueueDetail.Coarse));
                Assert.Equal(4, mine.Count(s => s.Name == "aiops_trace_preemptions_total"));
                Assert.Equal(AIOps.Trace.Analysis.Collection.Metrics.Count, mine.Count(s => s.Name == "aiops_trace_container_vector"));

                // The API and the stream keep the full layout.
                long[] full = detail.RootElement.GetProperty("runq_buckets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                Assert.Equal(RunQueueBuckets.Count, full.Length);
                Assert.True(full.Sum() > 0, $"no run-queue waits for {cgroup}");

                var coarse = mine.Where(s => s.Name == "aiops_trace_runqueue_latency_seconds_bucket").ToList();
                Assert.Equal(coarseBounds.Length + 1, coarse.Count);
                foreach (PromSample b in coarse)
                {
                    // Bucket i of the API counts waits below bounds_us[i]: the coarse bucket at a bound is every API bucket up to it.
                    int upTo = b.Label("le") == "+Inf" ? full.Length - 1
                        : Array.IndexOf(RunQueueBuckets.BoundsSeconds, double.Parse(b.Label("le"), CultureInfo.InvariantCulture));
                    Assert.True(upTo >= 0, $"le={b.Label("le")} is not a bound of the full layout");
                    Assert.Equal(full[..(upTo + 1)].Sum(), b.Value);
                }
                Assert.Equal(full.Sum(), Assert.Single(mine, s => s.Name == "aiops_trace_runqueue_latency_seconds_count").Value);
                detail.Dispose();
            }
            return;
        }
    }
}
