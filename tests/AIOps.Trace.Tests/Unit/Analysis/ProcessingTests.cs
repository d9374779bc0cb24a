using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Tests.Unit.Analysis;

public sealed class ProcessingTests
{
    [Fact]
    public void Median_and_MAD_ignore_the_outlier()
    {
        double[] values = [1, 2, 3, 4, 5, 1000];
        (double median, double scale) = RobustScaler.CentreAndScale(values);
        Assert.Equal(3.5, median);
        Assert.Equal(1.4826 * 1.5, scale, 12); // |deviations| 2.5 1.5 0.5 0.5 1.5 996.5 -> MAD 1.5
    }

    [Fact]
    public void A_metric_equal_in_most_containers_keeps_a_scale_that_sees_the_few_that_differ()
    {
        double[] values = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5];
        (double median, double scale) = RobustScaler.CentreAndScale(values);
        Assert.Equal(0, median);
        Assert.Equal(1.2533 * 0.05, scale, 12);
    }

    private static MetricVector V(string key, params (int Slot, double Value)[] values)
    {
        var v = new double[Metrics.Count];
        Array.Fill(v, double.NaN);
        foreach ((int slot, double value) in values) v[slot] = value;
        return new MetricVector(key, v);
    }

    [Fact]
    public void Constant_missing_and_redundant_metrics_are_dropped_with_a_reason()
    {
        var r = new Random(5);
        var rows = Enumerable.Range(0, 12).Select(i =>
        {
            double p99 = 100 + 10 * Synthetic.Gaussian(r);
            return V($"c{i}", (Metrics.RunQueueP99Us, p99), (Metrics.RunQueueP50Us, p99 / 4 + 0.01 * i), // monotone in p99: redundant
                (Metrics.CpuUsageCores, 0.5 + 0.1 * Synthetic.Gaussian(r)), (Metrics.PreemptedByHostPerSecond, 7),
                (Metrics.DiskBytesPerSecond, i == 0 ? 5 : double.NaN));
        }).ToList();
        ProcessedDomain d = DomainProcessor.Process(rows);
        Assert.Equal([Metrics.RunQueueP50Us, Metrics.CpuUsageCores], d.Slots);
        Assert.Contains(d.Dropped, x => x.Metric == "runq_p99_us" && x.Reason.StartsWith("redundant with runq_p50_us"));
        Assert.Contains(d.Dropped, x => x.Metric == "preempted_by_host_per_s" && x.Reason == "constant");
        Assert.Contains(d.Dropped, x => x.Metric == "disk_bytes_per_s" && x.Reason == "missing");
        Assert.Contains(d.Dropped, x => x.Metric == "network_tx_bytes_per_s" && x.Reason == "missing");
        // Robust z: the median row is about 0, every value finite.
        Assert.All(d.Z, row => Assert.All(row, z => Assert.True(double.IsFinite(z))));
    }

    [Fact]
    public void A_missing_value_is_flagged_and_imputed_at_the_median()
    {
        var rows = Enumerable.Range(0, 5).Select(i => V($"c{i}", (Metrics.CpuUsageCores, i == 2 ? double.NaN : i))).ToList();
        ProcessedDomain d = DomainProcessor.Process(rows);
        Assert.True(d.Missing[2][0]);
        Assert.Equal(0, d.Z[2][0]);
        Assert.False(d.Missing[0][0]);
        Assert.True(d.Z[0][0] < 0 && d.Z[4][0] > 0);
    }
}
