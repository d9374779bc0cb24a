using AIOps.Trace.Aggregation;

namespace AIOps.Trace.Tests.Unit;

public class LogLinearHistogramTests
{
    private const int Last = LogLinearHistogram.BucketCount - 1;
    private const ulong DenseSweepEnd = 1 << 16;

    [Fact]
    public void BucketIndex_IsMonotoneAndContiguous_OverASweep()
    {
        // Dense part: consecutive values never skip a bucket, except below 64 units where a
        // 1/1024 µs bucket can be narrower than 1 ns. Sparse part: never step back.
        int previous = 0;
        foreach (ulong v in Sweep())
        {
            int index = LogLinearHistogram.BucketIndex(v);
            Assert.InRange(index, previous, v <= DenseSweepEnd ? previous + (v < 64 ? 2 : 1) : Last);
            previous = index;
        }

        // Contiguity: each bucket starts one past where the previous one ends.
        for (int i = 1; i < LogLinearHistogram.BucketCount; i++)
        {
            Assert.Equal(LogLinearHistogram.BucketUpperBound(i - 1) + 1, LogLinearHistogram.BucketLowerBound(i));
            if (LogLinearHistogram.BucketUpperBound(i) < LogLinearHistogram.BucketLowerBound(i))
            {
                Assert.True(i < 64, $"bucket {i} holds no ns value");
                continue;
            }
            Assert.Equal(i, LogLinearHistogram.BucketIndex(LogLinearHistogram.BucketLowerBound(i)));
            Assert.Equal(i, LogLinearHistogram.BucketIndex(LogLinearHistogram.BucketUpperBound(i)));
        }
        Assert.Equal(0UL, LogLinearHistogram.BucketLowerBound(0));
        Assert.Equal(ulong.MaxValue, LogLinearHistogram.BucketUpperBound(Last));
    }

    [Fact]
    public void EveryValue_FallsWithinItsBucketBounds()
    {
        foreach (ulong v in Sweep())
        {
            int index = LogLinearHistogram.BucketIndex(v);
            Assert.InRange(v, LogLinearHistogram.BucketLowerBound(index), LogLinearHistogram.BucketUpperBound(index));
        }
    }

    [Fact]
    public void BucketWidth_IsAtMostOne32ndOfItsLowerBound()
    {
        for (int i = 1; i < Last; i++)
        {
            ulong lower = LogLinearHistogram.BucketLowerBound(i);
            ulong width = LogLinearHistogram.BucketUpperBound(i) - lower + 1;
            // Buckets are cut in 1/1024 µs units: rounding to whole ns adds at most 1 ns, and a
            // few buckets below 64 units hold no ns value (width 0).
            Assert.True(width <= lower / 32.0 + 1, $"bucket {i}: width {width}, lower {lower}");
        }
    }

    [Fact]
    public void Octaves_start_exactly_on_power_of_two_microseconds()
    {
        for (int k = 0; k < 33; k++) // 2^33 µs and beyond is the overflow bucket
        {
            ulong limitNs = (1UL << k) * 1000;
            int index = LogLinearHistogram.BucketIndex(limitNs);
            Assert.Equal(limitNs, LogLinearHistogram.BucketLowerBound(index));
            Assert.Equal(index - 1, LogLinearHistogram.BucketIndex(limitNs - 1));
            // The bucket just below the limit reports a value below it: the log2 µs slot of a
            // quantile never rounds across a limit.
            var h = new LogLinearHistogram();
            h.Record(limitNs - 1);
            h.Record(limitNs * 3);
            Assert.Equal(Math.Max(0, k - 1), LogLinearHistogram.Log2MicrosecondSlot(h.ValueAtQuantile(0.5)));
        }
    }

    [Theory]
    // ns -> units of 1/1024 µs (x 1.024, rounded down) -> bucket.
    [InlineData(0UL, 0)]
    [InlineData(1UL, 1)]
    [InlineData(31UL, 31)]
    [InlineData(32UL, 32)]
    [InlineData(62UL, 63)]
    [InlineData(63UL, 64)]
    [InlineData(64UL, 64)]
    [InlineData(65UL, 65)]
    [InlineData(1000UL, 192)]
    [InlineData(8589934591999UL, Last - 1)]
    [InlineData(8589934592000UL, Last)]
    [InlineData(ulong.MaxValue, Last)]
    public void EdgeValues_MapToExpectedBuckets(ulong value, int expected)
    {
        Assert.Equal(expected, LogLinearHistogram.BucketIndex(value));

        var h = new LogLinearHistogram();
        h.Record(value);
        Assert.Equal(1, h.Count);
        Assert.Equal(value, h.Min);
        Assert.Equal(value, h.Max);
        Assert.Equal(value, h.Sum);
        Assert.Equal(1, h.CountAt(expected));
        Assert.Equal((double)value, h.ValueAtQuantile(0.5)); // clamped to the only value
    }

    [Fact]
    public void Record_DoesNotAllocate()
    {
        // The engine's accumulators hold the full range (a histogram storing only its range
        // allocates when a value lands outside it; see the range tests below).
        var h = new LogLinearHistogram(fullRange: true);
        h.Record(1);
        h.Record(2, 3); // warm both paths up first

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (ulong v = 0; v < 100_000; v++)
        {
            h.Record(v * 7919);
            h.Record(v, 2);
        }
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        // Once its range covers the values, a histogram storing only its range records without allocating too.
        var ranged = new LogLinearHistogram();
        ranged.Record(0);
        ranged.Record(ulong.MaxValue);
        before = GC.GetAllocatedBytesForCurrentThread();
        for (ulong v = 0; v < 100_000; v++)
            ranged.Record(v * 7919);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    public static TheoryData<string> Distributions => new() { "uniform", "lognormal", "bimodal" };

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Quantiles_AreWithin5PercentOfExact(string distribution)
    {
        var random = new Random(20240611);
        ulong[] values = new ulong[200_000];
        for (int i = 0; i < values.Length; i++)
            values[i] = Draw(random, distribution);

        var h = new LogLinearHistogram();
        foreach (ulong v in values)
            h.Record(v);
        Array.Sort(values);

        foreach (double q in new[] { 0.0, 0.5, 0.9, 0.99, 0.999, 1.0 })
        {
            long rank = Math.Max(1, (long)Math.Ceiling(q * values.Length));
            double exact = values[rank - 1];
            double reported = h.ValueAtQuantile(q);
            Assert.True(Math.Abs(reported - exact) <= 0.05 * exact,
                $"{distribution} p{q * 100}: reported {reported}, exact {exact}");
        }
    }

    [Fact]
    public void EmptyHistogram_ReportsZeros()
    {
        var h = new LogLinearHistogram();
        Assert.Equal(0, h.ValueAtQuantile(0.99));
        Assert.Equal(0UL, h.Min);
        Assert.Equal(0UL, h.Max);
        Span<Log2Bucket> buckets = stackalloc Log2Bucket[4];
        Assert.Equal(1, h.CopyLog2MicrosecondBuckets(buckets));
        Assert.Equal(new Log2Bucket(1, 0), buckets[0]);
    }

    [Fact]
    public void QuantileOutsideZeroToOne_Throws()
    {
        var h = new LogLinearHistogram();
        Assert.Throws<ArgumentOutOfRangeException>(() => h.ValueAtQuantile(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.ValueAtQuantile(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Record(5, -1));
    }

    [Fact]
    public void AddResetCopyFrom_KeepCountsSumMinMax()
    {
        var a = new LogLinearHistogram();
        var b = new LogLinearHistogram();
        a.Record(100);
        a.Record(5_000, 3);
        b.Record(7);
        b.Record(1_000_000);

        a.Add(b);
        Assert.Equal(6, a.Count);
        Assert.Equal(100UL + 15_000 + 7 + 1_000_000, a.Sum);
        Assert.Equal(7UL, a.Min);
        Assert.Equal(1_000_000UL, a.Max);
        Assert.Equal(3, a.CountAt(LogLinearHistogram.BucketIndex(5_000)));

        var copy = new LogLinearHistogram();
        copy.Record(42);
        copy.CopyFrom(a);
        Assert.Equal(a.Count, copy.Count);
        Assert.Equal(a.Sum, copy.Sum);
        Assert.Equal(a.Min, copy.Min);
        Assert.Equal(a.Max, copy.Max);
        Assert.Equal(AllCounts(a), AllCounts(copy));

        a.Reset();
        Assert.Equal(0, a.Count);
        Assert.Equal(0UL, a.Sum);
        Assert.Equal(0UL, a.Min);
        Assert.Equal(0UL, a.Max);
        Assert.Equal(-1, a.Buckets.IndexOfAnyExcept(0L));
        a.Record(9);
        Assert.Equal(9UL, a.Min); // Reset must also forget the old minimum
        Assert.Equal(6, copy.Count); // the copy is independent
    }

    [Fact]
    public void Log2Buckets_AreCumulativeAndMatchBruteForce()
    {
        var random = new Random(7);
        var h = new LogLinearHistogram();
        var values = new List<ulong>();
        for (int i = 0; i < 50_000; i++)
        {
            ulong v = Draw(random, "lognormal");
            values.Add(v);
            h.Record(v);
        }

        Span<Log2Bucket> buckets = stackalloc Log2Bucket[LogLinearHistogram.MaxLog2MicrosecondBuckets];
        int n = h.CopyLog2MicrosecondBuckets(buckets);
        Assert.True(n >= 2);
        Assert.Equal(h.Count, buckets[n - 1].CumulativeCount);
        Assert.True(buckets[n - 2].CumulativeCount < h.Count, "must stop at the first complete bucket");

        for (int i = 0; i < n; i++)
        {
            ulong le = buckets[i].LeMicroseconds;
            Assert.Equal(1UL << i, le);
            if (i > 0)
                Assert.True(buckets[i].CumulativeCount >= buckets[i - 1].CumulativeCount);

            // Exact rule applied to each value's representative (its bucket midpoint clamped).
            long byRule = values.Count(v => Representative(h, v) < le * 1000.0);
            Assert.Equal(byRule, buckets[i].CumulativeCount);

            // Against raw values the only disagreement is the fine bucket straddling le * 1000.
            long raw = values.Count(v => v < le * 1000);
            long straddling = values.Count(v => StraddlesLimit(v, le * 1000));
            Assert.InRange(buckets[i].CumulativeCount, raw - straddling, raw + straddling);
        }
    }

    [Fact]
    public void Log2Buckets_AreExact_WhenNoBucketStraddlesALimit()
    {
        var h = new LogLinearHistogram();
        ulong[] values = [0, 900, 1_500, 3_000, 5_000, 70_000, 70_000];
        foreach (ulong v in values)
        {
            for (ulong le = 1; le <= 1024; le <<= 1)
                Assert.False(StraddlesLimit(v, le * 1000), $"{v} ns shares a fine bucket with {le} µs");
            h.Record(v);
        }

        Span<Log2Bucket> buckets = stackalloc Log2Bucket[16];
        int n = h.CopyLog2MicrosecondBuckets(buckets);
        long[] expected = new long[n];
        for (int i = 0; i < n; i++)
            expected[i] = values.Count(v => v < (1UL << i) * 1000);
        Assert.Equal(expected, buckets[..n].ToArray().Select(b => b.CumulativeCount));
        Assert.Equal(128UL, buckets[n - 1].LeMicroseconds); // 70 µs < 128 µs, 64 µs is not enough
    }

    [Fact]
    public void Log2Buckets_ThrowNamingDestination_WhenTooSmall()
    {
        var h = new LogLinearHistogram();
        h.Record(1_000_000_000);
        var e = Assert.Throws<ArgumentException>(() => h.CopyLog2MicrosecondBuckets(new Log2Bucket[3]));
        Assert.Equal("destination", e.ParamName);

        h.Record(ulong.MaxValue);
        Assert.Equal(LogLinearHistogram.MaxLog2MicrosecondBuckets,
            h.CopyLog2MicrosecondBuckets(new Log2Bucket[LogLinearHistogram.MaxLog2MicrosecondBuckets]));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(999.0, 0)]
    [InlineData(1_999.0, 0)] // runqlat: d = 1 µs -> log2l(1) = 0
    [InlineData(2_000.0, 1)]
    [InlineData(3_999.0, 1)]
    [InlineData(4_000.0, 2)]
    [InlineData(1_048_576_000.0, 20)]
    [InlineData(-5.0, 0)]
    public void Log2MicrosecondSlot_MatchesRunqlat(double ns, int slot) =>
        Assert.Equal(slot, LogLinearHistogram.Log2MicrosecondSlot(ns));

    private static IEnumerable<ulong> Sweep()
    {
        // Every value up to 2^16, then a geometric sweep far past the overflow limit.
        for (ulong v = 0; v <= DenseSweepEnd; v++)
            yield return v;
        for (double v = DenseSweepEnd + 1; v < 1.8e19; v *= 1.0007)
            yield return (ulong)v;
        yield return ulong.MaxValue;
    }

    private static ulong Draw(Random random, string distribution) => distribution switch
    {
        "uniform" => (ulong)random.NextInt64(1_000, 10_000_000),
        "lognormal" => (ulong)Math.Exp(10 + 2 * Gaussian(random)),
        "bimodal" => random.NextDouble() < 0.8
            ? (ulong)Math.Max(1, 20_000 + 3_000 * Gaussian(random))
            : (ulong)Math.Max(1, 5_000_000 + 500_000 * Gaussian(random)),
        _ => throw new ArgumentOutOfRangeException(nameof(distribution)),
    };

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Representative(LogLinearHistogram h, ulong v)
    {
        int i = LogLinearHistogram.BucketIndex(v);
        if (i == Last)
            return h.Max;
        ulong lower = LogLinearHistogram.BucketLowerBound(i);
        double mid = lower + (LogLinearHistogram.BucketUpperBound(i) - lower) / 2.0;
        return Math.Clamp(mid, h.Min, h.Max);
    }

    private static bool StraddlesLimit(ulong v, ulong limit)
    {
        int i = LogLinearHistogram.BucketIndex(v);
        return LogLinearHistogram.BucketLowerBound(i) < limit && LogLinearHistogram.BucketUpperBound(i) >= limit;
    }

    private static long[] AllCounts(LogLinearHistogram h) =>
        Enumerable.Range(0, LogLinearHistogram.BucketCount).Select(h.CountAt).ToArray();

    [Fact]
    public void A_histogram_storing_only_its_range_answers_as_one_storing_every_bucket()
    {
        // Values from sub-microsecond to the overflow bucket, arriving in an order that grows the
        // stored range downwards and upwards; the full-range histogram is the reference.
        var random = new Random(12345);
        var ranged = new LogLinearHistogram();
        var full = new LogLinearHistogram(fullRange: true);
        var other = new LogLinearHistogram();
        for (int i = 0; i < 5_000; i++)
        {
            ulong v = i switch
            {
                < 1_000 => (ulong)random.NextInt64(20_000, 40_000),
                < 2_000 => (ulong)random.NextInt64(0, 2_000),
                < 2_010 => (ulong)random.NextInt64(1L << 40, 1L << 62),
                _ => (ulong)Math.Exp(random.NextDouble() * 30),
            };
            ranged.Record(v);
            full.Record(v);
            if (i % 3 == 0)
                other.Record(v / 7 + 1, 2);
        }
        Assert.True(ranged.StoredBytes < full.StoredBytes || ranged.FirstBucket == 0);
        Assert.Equal(AllCounts(full), AllCounts(ranged));
        foreach (double q in new[] { 0, 0.01, 0.5, 0.9, 0.99, 0.999, 1 })
            Assert.Equal(full.ValueAtQuantile(q), ranged.ValueAtQuantile(q));
        var a = new Log2Bucket[LogLinearHistogram.MaxLog2MicrosecondBuckets];
        var b = new Log2Bucket[LogLinearHistogram.MaxLog2MicrosecondBuckets];
        Assert.Equal(full.CopyLog2MicrosecondBuckets(a), ranged.CopyLog2MicrosecondBuckets(b));
        Assert.Equal(a, b);

        ranged.Add(other);
        full.Add(other);
        Assert.Equal(AllCounts(full), AllCounts(ranged));
        Assert.Equal(full.ValueAtQuantile(0.99), ranged.ValueAtQuantile(0.99));

        // A copy into a histogram holding another range, and one into an empty one.
        var narrow = new LogLinearHistogram();
        narrow.Record(5_000_000);
        narrow.CopyFrom(other);
        Assert.Equal(AllCounts(other), AllCounts(narrow));
        var empty = new LogLinearHistogram();
        empty.CopyFrom(new LogLinearHistogram());
        Assert.Equal(0, empty.Count);
        Assert.Equal(0, empty.StoredBytes);
    }

    [Fact]
    public void Waits_of_a_dozen_powers_of_two_take_a_third_of_the_full_range()
    {
        var h = new LogLinearHistogram();
        for (ulong ns = 1_000; ns < 4_000_000; ns = ns * 11 / 10)
            h.Record(ns);
        // 1 us .. 4 ms: 12 powers of two of 32 buckets each, not all 1,249.
        Assert.InRange(h.StoredBytes, 12 * 32 * sizeof(long), 13 * 32 * sizeof(long));
        h.Reset();
        h.Record(2_000);
        Assert.InRange(h.StoredBytes, 12 * 32 * sizeof(long), 13 * 32 * sizeof(long)); // reuse keeps the range: no allocation
    }

    [Fact]
    public void Quantiles_match_a_walk_of_every_value_from_either_end_and_follow_each_change()
    {
        // The reference: sort every recorded value, take the one of rank ceil(q * n), and report its
        // bucket's answer through a one-value histogram (same midpoint rule, clamped to min and max).
        var random = new Random(777);
        var h = new LogLinearHistogram(fullRange: true);
        var values = new List<ulong>();
        double[] qs = [0, 0.1, 0.5, 0.5, 0.51, 0.9, 0.99, 0.999, 1];
        for (int round = 0; round < 6; round++)
        {
            for (int i = 0; i < 300; i++)
            {
                ulong v = (ulong)Math.Exp(random.NextDouble() * (8 + 3 * round));
                h.Record(v);
                values.Add(v);
            }
            values.Sort();
            foreach (double q in qs)
            {
                ulong atRank = values[(int)Math.Clamp((long)Math.Ceiling(q * values.Count), 1, values.Count) - 1];
                int bucket = LogLinearHistogram.BucketIndex(atRank);
                double mid = bucket == LogLinearHistogram.BucketCount - 1 ? values[^1]
                    : LogLinearHistogram.BucketLowerBound(bucket) + (LogLinearHistogram.BucketUpperBound(bucket) - (double)LogLinearHistogram.BucketLowerBound(bucket)) / 2.0;
                Assert.Equal(Math.Clamp(mid, values[0], values[^1]), h.ValueAtQuantile(q));
            }
        }

        // An answer is remembered only until the histogram changes, by any of its writers.
        var other = new LogLinearHistogram();
        other.Record(9_000_000_000, 100_000);
        double before = h.ValueAtQuantile(0.99);
        h.Add(other);
        Assert.NotEqual(before, h.ValueAtQuantile(0.99));
        h.CopyFrom(new LogLinearHistogram());
        Assert.Equal(0, h.ValueAtQuantile(0.99));
        h.Record(5_000);
        Assert.Equal(5_000, h.ValueAtQuantile(0.99));
        h.Record(7_000_000, 1_000);
        Assert.Equal(7_000_000, h.ValueAtQuantile(0.99), 0.02 * 7_000_000);
        h.Reset();
        h.Record(123);
        Assert.Equal(123, h.ValueAtQuantile(0.99));
    }

    [Fact]
    public void Reset_and_copy_leave_no_count_behind_in_a_full_range_histogram()
    {
        // They clear only the buckets between those of Min and Max: every other bucket must already be zero.
        var full = new LogLinearHistogram(fullRange: true);
        var source = new LogLinearHistogram();
        var random = new Random(99);
        for (int window = 0; window < 20; window++)
        {
            source.Reset();
            for (int i = 0; i < 50; i++)
            {
                ulong v = (ulong)random.NextInt64(1, 1L << random.Next(1, 50));
                full.Record(v);
                source.Record(v, 3);
            }
            var copy = new LogLinearHistogram(fullRange: true);
            copy.Record(1UL << 45);
            copy.CopyFrom(source);
            Assert.Equal(AllCounts(source), AllCounts(copy));
            full.Reset();
            Assert.All(AllCounts(full), n => Assert.Equal(0, n));
            Assert.Equal(0, full.ValueAtQuantile(0.5));
        }
    }

    [Fact]
    public void A_copy_moves_a_long_enough_array_to_the_new_range_instead_of_growing()
    {
        // A pooled window histogram meets one container's range after another's.
        var pooled = new LogLinearHistogram();
        var wide = new LogLinearHistogram();
        wide.Record(1_000);
        wide.Record(4_000_000);
        pooled.CopyFrom(wide);
        int bytes = pooled.StoredBytes;
        foreach (ulong v in new ulong[] { 900_000_000, 3, 70_000, ulong.MaxValue, 1_000 })
        {
            var source = new LogLinearHistogram();
            source.Record(v, 5);
            source.Record(v / 2 + 1);
            long before = GC.GetAllocatedBytesForCurrentThread();
            pooled.CopyFrom(source);
            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
            Assert.Equal(bytes, pooled.StoredBytes);
            Assert.Equal(AllCounts(source), AllCounts(pooled));
            Assert.Equal(source.ValueAtQuantile(0.99), pooled.ValueAtQuantile(0.99));
        }
    }

    [Fact]
    public void Readers_at_once_get_the_answers_one_reader_gets()
    {
        // Quantiles are remembered by the readers themselves: several filling the memo together
        // must never see one quantile's slot with another's answer.
        var random = new Random(31);
        double[] qs = [0.5, 0.9, 0.99, 0.999];
        for (int round = 0; round < 200; round++)
        {
            var shared = new LogLinearHistogram();
            var alone = new LogLinearHistogram();
            for (int i = 0; i < 64; i++)
            {
                ulong v = (ulong)random.NextInt64(1, 1L << random.Next(4, 40));
                shared.Record(v);
                alone.Record(v);
            }
            double[] expected = qs.Select(alone.ValueAtQuantile).ToArray();
            var answers = new double[4][];
            Parallel.For(0, 4, t => answers[t] = Enumerable.Range(0, 16).Select(k => shared.ValueAtQuantile(qs[(k + t) % 4])).ToArray());
            for (int t = 0; t < 4; t++)
                for (int k = 0; k < 16; k++)
                    Assert.Equal(expected[(k + t) % 4], answers[t][k]);
        }
    }
}
