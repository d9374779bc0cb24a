using System.Diagnostics;
using System.Diagnostics.Metrics;
using AIOps.Trace.Telemetry;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The <c>AIOps.Trace</c> meter read by a <see cref="MeterListener"/> over real windows of a
/// 20% quota busy loop: its totals are the windows' figures exactly, and its throttling and CPU
/// time are what the kernel's cpu.stat and cpuacct.usage say over the same span.
/// </summary>
public sealed class EngineMeterTests : KernelTestBase
{
    [Fact]
    public void The_meter_reports_the_windows_figures_and_the_kernels_counters_per_container()
    {
        TestCgroup capped = NewCgroup("metrics-meter");
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        TraceEngine engine = StartEngine(new EngineOptions { Cgroups = [capped.RelativePath] });
        Track(capped.Start(TestCgroup.BusyLoop));
        using var meter = new EngineMeter();

        // The span the recorded windows cover lies between these two reads of the kernel's counters.
        WaitForThrottles(capped, ProcFs.CpuStat(capped.CpuDir)["nr_throttled"], 2);
        Dictionary<string, long> statBefore = ProcFs.CpuStat(capped.CpuDir);
        long usageBefore = CpuacctUsage(capped);
        engine.CollectWindow().Dispose();

        long waits = 0, periods = 0, throttledPeriods = 0, throttledNs = 0, cpuNs = 0;
        long[] preempted = new long[4];
        double p99 = 0, max = 0;
        for (int w = 0; w < 3; w++)
        {
            WaitForThrottles(capped, ProcFs.CpuStat(capped.CpuDir)["nr_throttled"], 3);
            using EngineSnapshot window = engine.CollectWindow();
            meter.Record(window);
            ContainerSnapshot c = Assert.Single(window.Containers, c => c.CgroupPath == capped.RelativePath);
            waits += c.RunQueue.Count;
            preempted[0] += c.PreemptedBySame;
            preempted[1] += c.PreemptedByOther;
            preempted[2] += c.PreemptedByHost;
            preempted[3] += c.PreemptedByUnknown;
            periods += c.Throttling.Periods;
            throttledPeriods += c.Throttling.ThrottledPeriods;
            throttledNs += c.Throttling.ThrottledNs;
            cpuNs += c.CpuUsageNs;
            p99 = c.RunQueue.Count == 0 ? double.NaN : c.RunQueue.ValueAtQuantile(0.99) / 1e9;
            max = c.RunQueue.Max / 1e9;
        }
        Dictionary<string, long> statAfter = ProcFs.CpuStat(capped.CpuDir);
        long usageAfter = CpuacctUsage(capped);

        List<Observed> seen = Observe(meter);
        List<Observed> mine = seen.Where(o => o.Tag("cgroup.path") as string == capped.RelativePath).ToList();

        // Exactly the windows' figures.
        Assert.Equal(waits, One(mine, "aiops.trace.container.runqueue.waits"));
        for (int p = 0; p < EngineMeter.Preemptors.Length; p++)
            Assert.Equal(preempted[p], One(mine, "aiops.trace.container.preemptions", ("preemptor", EngineMeter.Preemptors[p])));
        Assert.Equal(periods, One(mine, "aiops.trace.container.cpu.periods"));
        Assert.Equal(throttledPeriods, One(mine, "aiops.trace.container.cpu.throttled_periods"));
        Assert.Equal(throttledNs / 1e9, One(mine, "aiops.trace.container.cpu.throttled_time"), 9);
        Assert.Equal(cpuNs / 1e9, One(mine, "aiops.trace.container.cpu.usage"), 9);
        Assert.True(waits > 0, "the busy loop never waited on a run queue");
        Assert.Equal(p99, One(mine, "aiops.trace.container.runqueue.latency", ("quantile", 0.99)), 12);
        Assert.Equal(max, One(mine, "aiops.trace.container.runqueue.latency", ("quantile", 1.0)), 12);
        Assert.Equal(3, Assert.Single(seen, o => o.Name == "aiops.trace.windows").Value);
        Assert.Equal(0, Assert.Single(seen, o => o.Name == "aiops.trace.lost_events").Value);

        // And the kernel's: throttled as cpu.stat says (at least half of its periods, never more), CPU time within cpuacct.usage.
        long kernelThrottled = statAfter["nr_throttled"] - statBefore["nr_throttled"];
        Assert.InRange(throttledPeriods, Math.Max(1, kernelThrottled / 2), kernelThrottled);
        Assert.InRange(throttledNs, 1, statAfter["throttled_time"] - statBefore["throttled_time"]);
        Assert.InRange(periods, throttledPeriods, statAfter["nr_periods"] - statBefore["nr_periods"]);
        Assert.InRange(cpuNs, (usageAfter - usageBefore) / 2, usageAfter - usageBefore);
    }

    [Fact]
    public void An_ended_container_is_reported_with_its_last_window_then_dropped()
    {
        TestCgroup gone = NewCgroup("metrics-meter-gone");
        TraceEngine engine = StartEngine(new EngineOptions { Cgroups = [gone.RelativePath] });
        Process loop = Track(gone.Start("sh -c 'while :; do sleep 0.01; done'"));
        using var meter = new EngineMeter();
        RecordUntil(engine, meter, w => w.Containers.Any(c => c.CgroupPath == gone.RelativePath && c.RunQueue.Count > 0));
        Assert.Contains(Observe(meter), o => o.Tag("cgroup.path") as string == gone.RelativePath);

        loop.Kill();
        loop.WaitForExit();
        gone.Dispose();
        RecordUntil(engine, meter, w => w.Containers.Any(c => c.CgroupPath == gone.RelativePath && c.Ended));
        Assert.Contains(Observe(meter), o => o.Tag("cgroup.path") as string == gone.RelativePath && o.Name == "aiops.trace.container.runqueue.waits");
        using (EngineSnapshot next = engine.CollectWindow())
            meter.Record(next);
        Assert.DoesNotContain(Observe(meter), o => o.Tag("cgroup.path") as string == gone.RelativePath);
    }

    private static void RecordUntil(TraceEngine engine, EngineMeter meter, Func<EngineSnapshot, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "the window awaited did not come in 20 s");
            Thread.Sleep(200);
            using EngineSnapshot w = engine.CollectWindow();
            meter.Record(w);
            if (done(w))
                return;
        }
    }

    /// <summary>Waits until cpu.stat counts <paramref name="more"/> throttled periods after <paramref name="from"/>.</summary>
    private static void WaitForThrottles(TestCgroup cg, long from, long more)
    {
        var deadline = Stopwatch.StartNew();
        while (ProcFs.CpuStat(cg.CpuDir)["nr_throttled"] < from + more)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"{cg.RelativePath} was not throttled {more} more times in 15 s");
            Thread.Sleep(20);
        }
    }

    private static long CpuacctUsage(TestCgroup cg) => long.Parse(cg.Read("cpuacct", "cpuacct.usage").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Observed(string Name, double Value, KeyValuePair<string, object?>[] Tags)
    {
        public object? Tag(string key) => Tags.FirstOrDefault(t => t.Key == key).Value;
    }

    private static double One(List<Observed> seen, string name, (string Key, object Value)? extra = null) =>
        Assert.Single(seen, o => o.Name == name && (extra is not { } e || Equals(o.Tag(e.Key), e.Value))).Value;

    /// <summary>One collection of every instrument of <paramref name="meter"/>, as an exporter makes it.</summary>
    private static List<Observed> Observe(EngineMeter meter)
    {
        var seen = new List<Observed>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter.Meter))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => seen.Add(new Observed(i.Name, v, tags.ToArray())));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => seen.Add(new Observed(i.Name, v, tags.ToArray())));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}
