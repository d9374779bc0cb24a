using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>The live stream: deltas that add up to the snapshot, and many clients without slowing anyone.</summary>
public sealed class ServeStreamTests : KernelTestBase
{
    [Fact]
    public async Task Frame_deltas_add_up_to_the_cumulative_snapshot_at_the_same_seq()
    {
        TestCgroup capped = NewCgroup("stream");
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "300ms"));
        using SseClient sse = await SseClient.ConnectAsync(serve.Http);
        (string name, JsonDocument hello) = (await sse.NextAsync())!.Value;
        Assert.Equal("hello", name);
        Assert.Equal(23, hello.RootElement.GetProperty("bounds_us").GetArrayLength());
        Assert.Equal(0.3, hello.RootElement.GetProperty("interval_s").GetDouble(), 3);
        // The container's first activity comes after the client joined: every delta it ever had reaches this client.
        Track(capped.Start(TestCgroup.BusyLoop));

        var buckets = new long[24];
        long runqCount = 0, periods = 0, throttledPeriods = 0, preempted = 0;
        double throttledS = 0;
        string? id = null;
        long lastSeq = hello.RootElement.GetProperty("seq").GetInt64();
        var frameTimes = new List<DateTimeOffset>();
        var clock = Stopwatch.StartNew();
        int compared = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && compared < 3)
        {
            (string ev, JsonDocument frame) = (await sse.NextAsync())!.Value;
            Assert.Equal("frame", ev);
            JsonElement f = frame.RootElement;
            Assert.Equal(0, f.GetProperty("dropped_frames").GetInt64());
            long seq = f.GetProperty("seq").GetInt64();
            Assert.Equal(lastSeq + 1, seq); // no frame missed
            lastSeq = seq;
            frameTimes.Add(f.GetProperty("t").GetDateTimeOffset());
            foreach (JsonElement c in f.GetProperty("containers").EnumerateArray())
            {
                if (c.GetProperty("cgroup").GetString() != capped.RelativePath)
                    continue;
                id = c.GetProperty("id").GetString();
                foreach (JsonProperty b in c.GetProperty("runq").EnumerateObject())
                    buckets[int.Parse(b.Name)] += b.Value.GetInt64();
                runqCount += c.GetProperty("runq_count").GetInt64();
                periods += c.GetProperty("periods").GetInt64();
                throttledPeriods += c.GetProperty("throttled_periods").GetInt64();
                throttledS += c.GetProperty("throttled_s").GetDouble();
                JsonElement p = c.GetProperty("preempted");
                preempted += p.GetProperty("same").GetInt64() + p.GetProperty("other").GetInt64() + p.GetProperty("host").GetInt64() + p.GetProperty("unknown").GetInt64();
            }
            if (id is null || throttledPeriods == 0)
                continue;
            // The snapshot as of this frame's window, if no later window was cut meanwhile.
            using JsonDocument detail = serve.GetJson("api/v1/containers/" + id);
            if (detail.RootElement.GetProperty("seq").GetInt64() != seq)
                continue;
            JsonElement cumulative = detail.RootElement.GetProperty("container").GetProperty("cumulative");
            Assert.Equal(buckets, detail.RootElement.GetProperty("runq_buckets").EnumerateArray().Select(e => e.GetInt64()).ToArray());
            Assert.Equal(runqCount, cumulative.GetProperty("runq_count").GetInt64());
            Assert.Equal(periods, cumulative.GetProperty("periods").GetInt64());
            Assert.Equal(throttledPeriods, cumulative.GetProperty("throttled_periods").GetInt64());
            Assert.Equal(throttledS, cumulative.GetProperty("throttled_s").GetDouble(), 6);
            JsonElement cp = cumulative.GetProperty("preempted");
            Assert.Equal(preempted, cp.GetProperty("same").GetInt64() + cp.GetProperty("other").GetInt64() + cp.GetProperty("host").GetInt64() + cp.GetProperty("unknown").GetInt64());
            Assert.True(runqCount > 0);
            compared++;
        }
        Assert.True(compared == 3, $"compared {compared} times in 30 s");
        // A frame every interval: the median gap between the windows' ends is the interval (the
        // client's own read times say nothing, it reads queued frames back to back after each GET).
        double medianGap = frameTimes.Zip(frameTimes.Skip(1), (a, b) => (b - a).TotalSeconds).Order().ElementAt(frameTimes.Count / 2 - 1);
        Assert.InRange(medianGap, 0.15, 0.6);
    }

    [Fact]
    public async Task Fifty_clients_and_one_that_never_reads_do_not_slow_the_engine_or_the_others()
    {
        // A dozen small busy containers fill every frame, so the stuck client's buffers fill fast.
        var cgroups = Enumerable.Range(0, 12).Select(i => NewCgroup($"fan{i}")).ToList();
        foreach (TestCgroup cg in cgroups)
        {
            cg.WriteCpu("cpu.cfs_period_us", "100000");
            cg.WriteCpu("cpu.cfs_quota_us", "1000");
            Track(cg.Start(TestCgroup.BusyLoop));
        }
        const double Interval = 0.2;
        // Fifty-one clients from one address: more than the default per-address limit (32), which
        // is there so that one client cannot starve the probes.
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "200ms", "--connections-per-client", "64"));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100 }) { BaseAddress = serve.Url, Timeout = Timeout.InfiniteTimeSpan };
        await Task.Delay(2000); // past the start, when the workloads were still being placed
        double lostBefore = Metric(serve, "aiops_trace_lost_events_total");
        double droppedBefore = Metric(serve, "aiops_trace_stream_dropped_frames_total");

        // The stuck client: a tiny receive buffer, a request, and never a read.
        using var stuck = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
        stuck.Connect(serve.Url.Host, serve.Url.Port);
        stuck.Send(Encoding.ASCII.GetBytes($"GET /api/v1/stream HTTP/1.1\r\nHost: {serve.Url.Authority}\r\n\r\n"));

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 49).Select(_ => Task.Run(async () =>
        {
            using SseClient sse = await SseClient.ConnectAsync(http);
            var seqs = new List<long>();
            long dropped = 0;
            var clock = Stopwatch.StartNew();
            try
            {
                while (!stop.IsCancellationRequested && await sse.NextAsync(stop.Token) is ({ } ev, { } data))
                {
                    if (ev != "frame")
                        continue;
                    seqs.Add(data.RootElement.GetProperty("seq").GetInt64());
                    dropped += data.RootElement.GetProperty("dropped_frames").GetInt64();
                }
            }
            catch (OperationCanceledException)
            {
            }
            return (Seqs: seqs, Dropped: dropped, Seconds: clock.Elapsed.TotalSeconds);
        })).ToList();

        // Until the stuck client's buffers are full and its frames are dropped (and counted).
        var deadline = Stopwatch.StartNew();
        double clients = 0, droppedAfter = droppedBefore;
        while (deadline.Elapsed < TimeSpan.FromSeconds(40))
        {
            await Task.Delay(1000);
            clients = Math.Max(clients, Metric(serve, "aiops_trace_stream_clients"));
            droppedAfter = Metric(serve, "aiops_trace_stream_dropped_frames_total");
            if (droppedAfter > droppedBefore + 5 && deadline.Elapsed > TimeSpan.FromSeconds(8))
                break;
        }
        stop.Cancel();
        var results = await Task.WhenAll(readers);

        Assert.Equal(50, clients);
        Assert.True(droppedAfter > droppedBefore, "no frame was dropped for the client that never reads");
        foreach ((List<long> seqs, long dropped, double seconds) in results)
        {
            // Every window reached every reading client, in order, at the engine's pace.
            Assert.Equal(0, dropped);
            Assert.True(seqs.Count >= seconds / Interval * 0.6, $"a reading client got {seqs.Count} frames in {seconds:0.0} s at {Interval} s");
            for (int i = 1; i < seqs.Count; i++)
                Assert.Equal(seqs[i - 1] + 1, seqs[i]);
        }
        // The engine lost no event meanwhile.
        Assert.Equal(lostBefore, Metric(serve, "aiops_trace_lost_events_total"));
        // Once the stuck client is gone its drops stop: the API and the metric then say the same total.
        stuck.Close();
        var leaving = Stopwatch.StartNew();
        while (Metric(serve, "aiops_trace_stream_clients") > 0 && leaving.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(100);
        Assert.Equal(0, Metric(serve, "aiops_trace_stream_clients"));
        double droppedTotal = Metric(serve, "aiops_trace_stream_dropped_frames_total");
        Assert.True(droppedTotal >= droppedAfter);
        using JsonDocument list = serve.GetJson("api/v1/containers");
        Assert.Equal(droppedTotal, list.RootElement.GetProperty("engine").GetProperty("stream_dropped_frames_total").GetInt64());
    }

    private static double Metric(ServeProcess serve, string name) =>
        Assert.Single(PromText.Parse(serve.Get("metrics")), s => s.Name == name).Value;
}
