using System.Numerics;

namespace AIOps.Trace.Aggregation;

/// <summary>One cumulative power-of-two bucket, Prometheus <c>le</c> style.</summary>
/// <param name="LeMicroseconds">Upper limit in microseconds: the bucket counts values below <c>LeMicroseconds * 1000</c> ns.</param>
/// <param name="CumulativeCount">Values counted in this bucket and every smaller one.</param>
public readonly record struct Log2Bucket(ulong LeMicroseconds, long CumulativeCount);

/// <summary>
/// HDR-style log-linear histogram of nanosecond latencies (run-queue latency, throttled time).
/// Each power of two is split into 32 linear sub-buckets, so a bucket is at most 1/32 of its
/// lower bound wide and a quantile reported as the bucket midpoint is within ~1.6 % of the
/// recorded value at that rank. Values are bucketed in units of 1/1024 µs, not ns: the powers
/// of two then fall exactly on power-of-two microseconds, where runqlat, our log2 view and
/// Prometheus-style le bounds cut, so no bucket straddles one of those limits and a quantile's
/// log2 µs slot is exact. Not thread-safe: one writer, copied out with <see cref="CopyFrom"/>.
/// <para>
/// Only the range of buckets that has held a value is stored, in whole powers of two (the
/// waits of one container span a dozen of the 39, so a histogram takes about a third of the
/// full 10 KB). Growing the range allocates; the engine's own accumulators, written on the ring
/// reader's path, hold the full range from the start and never allocate. Copying, adding,
/// clearing and quantiles walk only the buckets between those of <see cref="Min"/> and
/// <see cref="Max"/>: at thousands of containers a window would otherwise stream every
/// accumulator's 10 KB through the cache to clear it.
/// </para>
/// <para>
/// The p50, p90, p99 and p99.9 asked for are remembered until the next change, so the several
/// readers of one window's histogram (diagnosis, analysis, API) walk its buckets once.
/// </para>
/// </summary>
public sealed class LogLinearHistogram
{
    // Values below 64 units are their own bucket; above that 5 bits below the highest set bit
    // select the sub-bucket. 2^43 units is ~2.4 hours: anything longer is not a latency we can
    // reason about, so it lands in one overflow bucket instead of 21 more powers of two.
    private const int SubBucketBits = 5;
    private const int SubBucketCount = 1 << SubBucketBits;
    private const int OverflowMagnitude = 43;
    private const int OverflowIndex = SubBucketCount + (OverflowMagnitude - SubBucketBits) * SubBucketCount;
    private const ulong OverflowLowerBound = 1UL << OverflowMagnitude;

    /// <summary>Number of buckets: 1248 log-linear ones plus the overflow bucket for values at or above 2^43 units (~2.4 h).</summary>
    public const int BucketCount = OverflowIndex + 1;

    /// <summary>Most buckets <see cref="CopyLog2MicrosecondBuckets"/> can write: le = 2^0 .. 2^55 µs covers ulong.MaxValue ns.</summary>
    public const int MaxLog2MicrosecondBuckets = 56;

    // Counts of buckets _first .. _first + _buckets.Length - 1; every other bucket is empty.
    private long[] _buckets;
    private int _first;
    private long _count;
    private ulong _sum;
    private ulong _min = ulong.MaxValue;
    private ulong _max;

    // The answers for p50, p90, p99 and p99.9 since the last change, one bit of _answered each.
    // Readers may run at once (only a change needs the one writer): a reader stores the value,
    // then sets its bit, and two readers filling one slot store the same value.
    private QuantileMemo _memo;
    private int _answered;

    [System.Runtime.CompilerServices.InlineArray(4)]
    private struct QuantileMemo
    {
        private double _first;
    }

    private static int MemoSlot(double q) => q == 0.5 ? 0 : q == 0.9 ? 1 : q == 0.99 ? 2 : q == 0.999 ? 3 : -1;

    /// <summary>Number of recorded values.</summary>
    public long Count => _count;

    /// <summary>Sum of recorded values in nanoseconds.</summary>
    public ulong Sum => _sum;

    /// <summary>Smallest recorded value, or 0 when empty.</summary>
    public ulong Min => _count == 0 ? 0 : _min;

    /// <summary>Largest recorded value, or 0 when empty.</summary>
    public ulong Max => _max;

    /// <summary>An empty histogram that stores buckets as values arrive.</summary>
    public LogLinearHistogram()
        : this(fullRange: false)
    {
    }

    /// <param name="fullRange">Store every bucket from the start, so that recording never allocates.</param>
    internal LogLinearHistogram(bool fullRange) => _buckets = fullRange ? new long[BucketCount] : [];

    /// <summary>
    /// Counts of the stored buckets: element i is bucket <see cref="FirstBucket"/> + i, indexed as
    /// <see cref="BucketIndex"/> maps values. Buckets outside the span are empty.
    /// </summary>
    public ReadOnlySpan<long> Buckets => _buckets;

    /// <summary>The bucket index of <see cref="Buckets"/>[0].</summary>
    public int FirstBucket => _first;

    /// <summary>Count of bucket <paramref name="index"/>.</summary>
    public long CountAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BucketCount);
        int i = index - _first;
        return (uint)i < (uint)_buckets.Length ? _buckets[i] : 0;
    }

    /// <summary>Bytes the stored buckets take (for tests and benchmarks of memory per container).</summary>
    internal int StoredBytes => _buckets.Length * sizeof(long);

    // Makes the stored range cover buckets lo..hi, in whole powers of two; keeps the counts.
    private void Cover(int lo, int hi)
    {
        if (_buckets.Length != 0)
        {
            if (lo >= _first && hi < _first + _buckets.Length)
                return;
            lo = Math.Min(lo, _first);
            hi = Math.Max(hi, _first + _buckets.Length - 1);
        }
        lo &= ~(SubBucketCount - 1);
        hi = Math.Min(hi | (SubBucketCount - 1), OverflowIndex);
        var grown = new long[hi - lo + 1];
        if (_buckets.Length != 0)
            _buckets.CopyTo(grown.AsSpan(_first - lo));
        _buckets = grown;
        _first = lo;
    }

    private ref long Slot(int index)
    {
        int i = index - _first;
        if ((uint)i >= (uint)_buckets.Length)
        {
            Cover(index, index);
            i = index - _first;
        }
        return ref _buckets[i];
    }

    /// <summary>Bucket holding <paramref name="valueNs"/> nanoseconds.</summary>
    public static int BucketIndex(ulong valueNs) => UnitIndex(ToUnits(valueNs));

    // ns -> 1/1024 µs: x * 1024 / 1000. Saturates far beyond the overflow bucket.
    private static ulong ToUnits(ulong ns) => ns >= ulong.MaxValue / 128 ? ulong.MaxValue : ns * 128 / 125;

    // Smallest ns whose units are at least `units` (the inverse of ToUnits, rounded up).
    private static ulong UnitsToNsCeiling(ulong units) => (ulong)(((UInt128)units * 125 + 127) / 128);

    private static int UnitIndex(ulong value)
    {
        // OR-ing in 32 makes every value below 64 share magnitude 0, where value >> 0 is the
        // index itself; above that (value >> magnitude) is 32 + sub. No branch for small values.
        int magnitude = BitOperations.Log2(value | SubBucketCount) - SubBucketBits;
        int index = (magnitude << SubBucketBits) + (int)(value >> magnitude);
        return Math.Min(index, OverflowIndex);
    }

    /// <summary>Smallest nanosecond value that falls in bucket <paramref name="index"/>.</summary>
    /// <remarks>A few buckets below 64 units are narrower than 1 ns and hold no ns value at all: for them the upper bound is one less than the lower.</remarks>
    public static ulong BucketLowerBound(int index) => UnitsToNsCeiling(UnitLowerBound(index));

    /// <summary>Largest nanosecond value that falls in bucket <paramref name="index"/> (inclusive).</summary>
    public static ulong BucketUpperBound(int index) =>
        index == OverflowIndex ? ulong.MaxValue : BucketLowerBound(index + 1) - 1;

    private static ulong UnitLowerBound(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BucketCount);
        if (index == OverflowIndex)
            return OverflowLowerBound;
        if (index < SubBucketCount)
            return (ulong)index;
        int magnitude = (index >> SubBucketBits) - 1;
        return (ulong)(SubBucketCount + (index & (SubBucketCount - 1))) << magnitude;
    }

    /// <summary>
    /// The libbpf-tools <c>runqlat</c> slot for a latency: floor(log2(µs)) for µs &gt;= 1, else 0.
    /// runqlat stores <c>log2l(d)</c> for d = ns / 1000, which is 0 for d in {0, 1}, 1 for 2-3,
    /// 2 for 4-7 and so on, so our slots line up with its printed histogram.
    /// </summary>
    public static int Log2MicrosecondSlot(double valueNs)
    {
        double us = valueNs / 1000.0;
        if (!(us >= 1.0))
            return 0; // also NaN and negatives
        if (us >= 18446744073709551615.0)
            return 63;
        // floor(log2(floor(us))) == floor(log2(us)) for us >= 1; the integer form is exact
        // where Math.Log2 could round just below a power of two up to it.
        return BitOperations.Log2((ulong)us);
    }

    /// <summary>Records one value. O(1), no allocation.</summary>
    public void Record(ulong valueNs)
    {
        _answered = 0;
        Slot(BucketIndex(valueNs))++;
        _count++;
        _sum += valueNs;
        if (valueNs < _min)
            _min = valueNs;
        if (valueNs > _max)
            _max = valueNs;
    }

    /// <summary>Records <paramref name="count"/> occurrences of one value (e.g. a kernel-side histogram slot).</summary>
    public void Record(ulong valueNs, long count)
    {
        if (count <= 0)
        {
            if (count < 0)
                ThrowHelper.ThrowNegativeCount(nameof(count));
            return;
        }

        _answered = 0;
        Slot(BucketIndex(valueNs)) += count;
        _count += count;
        _sum += valueNs * (ulong)count;
        if (valueNs < _min)
            _min = valueNs;
        if (valueNs > _max)
            _max = valueNs;
    }

    /// <summary>
    /// Value at quantile <paramref name="q"/> in [0, 1]: the midpoint of the bucket holding the
    /// value of rank ceil(q * Count) (at least 1), clamped to [Min, Max]; Max for the overflow
    /// bucket. 0 when empty.
    /// </summary>
    public double ValueAtQuantile(double q)
    {
        if (!(q >= 0.0 && q <= 1.0))
            ThrowHelper.ThrowQuantileOutOfRange(nameof(q));
        if (_count == 0)
            return 0;
        int slot = MemoSlot(q);
        if (slot >= 0 && (Volatile.Read(ref _answered) & (1 << slot)) != 0)
            return _memo[slot];

        double value = Representative(_first + RankBucket(Math.Clamp((long)Math.Ceiling(q * _count), 1, _count)));
        if (slot >= 0)
        {
            _memo[slot] = value;
            Interlocked.Or(ref _answered, 1 << slot);
        }
        return value;
    }

    // Stored index of the bucket holding the value of rank `rank` (1..Count): walked from the
    // nearer end of the occupied range, so a p99 looks at the tail only.
    private int RankBucket(long rank)
    {
        (int lo, int hi) = Occupied();
        ReadOnlySpan<long> buckets = _buckets.AsSpan(lo - _first, hi - lo + 1);
        if (rank <= _count / 2)
        {
            long below = 0;
            for (int i = 0; i < buckets.Length; i++)
            {
                below += buckets[i];
                if (below >= rank)
                    return lo - _first + i;
            }
        }
        else
        {
            // Values in buckets above i: the value of rank r is in the first bucket (from the top)
            // whose own count reaches past Count - above - r.
            long above = 0;
            for (int i = buckets.Length - 1; i >= 0; i--)
            {
                above += buckets[i];
                if (_count - above < rank)
                    return lo - _first + i;
            }
        }
        return hi - _first; // unreachable while the buckets sum to Count
    }

    /// <summary>Adds every value recorded in <paramref name="other"/>.</summary>
    public void Add(LogLinearHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._count == 0)
            return;
        _answered = 0;
        (int lo, int hi) = other.Occupied();
        Cover(lo, hi);
        ReadOnlySpan<long> from = other._buckets.AsSpan(lo - other._first, hi - lo + 1);
        Span<long> to = _buckets.AsSpan(lo - _first, from.Length);
        for (int i = 0; i < from.Length; i++)
            to[i] += from[i];
        _count += other._count;
        _sum += other._sum;
        _min = Math.Min(_min, other._min);
        _max = Math.Max(_max, other._max);
    }

    /// <summary>Makes this histogram an exact copy of <paramref name="other"/>.</summary>
    public void CopyFrom(LogLinearHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ClearOccupied();
        if (other._count != 0)
        {
            (int lo, int hi) = other.Occupied();
            // Every stored bucket is zero now: an array long enough for the range moves to it
            // instead of growing (pooled window histograms meet each container's range in turn).
            int aligned = lo & ~(SubBucketCount - 1);
            if ((lo < _first || hi >= _first + _buckets.Length) && Math.Min(hi | (SubBucketCount - 1), OverflowIndex) - aligned < _buckets.Length)
                _first = Math.Min(aligned, BucketCount - _buckets.Length);
            Cover(lo, hi);
            other._buckets.AsSpan(lo - other._first, hi - lo + 1).CopyTo(_buckets.AsSpan(lo - _first));
        }
        _count = other._count;
        _sum = other._sum;
        _min = other._min;
        _max = other._max;
    }

    /// <summary>Forgets every recorded value.</summary>
    public void Reset()
    {
        ClearOccupied();
        _count = 0;
        _sum = 0;
        _min = ulong.MaxValue;
        _max = 0;
    }

    /// <summary>
    /// Folds the fine buckets into cumulative buckets le = 1, 2, 4, 8 ... µs: a value v ns counts
    /// in every bucket with le * 1000 &gt; v. A fine bucket is placed by the same value
    /// <see cref="ValueAtQuantile"/> reports for it (midpoint clamped to [Min, Max]), so both views
    /// agree; fine buckets never straddle a limit, so the counts are those of the raw values.
    /// Stops after the first bucket whose cumulative count equals <see cref="Count"/>.
    /// </summary>
    /// <returns>Number of buckets written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public int CopyLog2MicrosecondBuckets(Span<Log2Bucket> destination)
    {
        int needed = Log2MicrosecondBucketsNeeded();
        if (destination.Length < needed)
            ThrowHelper.ThrowDestinationTooSmall(nameof(destination), needed);

        long cumulative = 0;
        int fine = _count == 0 ? _buckets.Length : Occupied().Lo - _first, end = _count == 0 ? 0 : Occupied().Hi - _first + 1;
        ulong le = 1;
        for (int written = 0; written < needed; written++, le <<= 1)
        {
            double limitNs = le * 1000.0;
            // Representatives grow with the index, so one forward cursor covers all limits.
            while (fine < end && Representative(_first + fine) < limitNs)
                cumulative += _buckets[fine++];
            destination[written] = new Log2Bucket(le, cumulative);
        }

        return needed;
    }

    private int Log2MicrosecondBucketsNeeded()
    {
        if (_count == 0)
            return 1;
        // The largest representative is at most Max, and Max's own bucket sets the last limit.
        double last = Representative(BucketIndex(_max));
        int needed = 1;
        for (double limitNs = 1000.0; limitNs <= last; limitNs *= 2)
            needed++;
        return needed;
    }

    // The first and last non-empty bucket (Count > 0): from Min and Max, whose buckets hold a value.
    private (int Lo, int Hi) Occupied() => (BucketIndex(_min), BucketIndex(_max));

    // Zeroes the buckets that can be non-zero (every other one already is) and forgets the quantiles.
    private void ClearOccupied()
    {
        _answered = 0;
        if (_count == 0)
            return;
        (int lo, int hi) = Occupied();
        _buckets.AsSpan(lo - _first, hi - lo + 1).Clear();
    }

    private double Representative(int index)
    {
        // The overflow bucket is unbounded above, so its midpoint means nothing; Max is the
        // one value known to lie in it.
        if (index == OverflowIndex)
            return _max;
        ulong lower = BucketLowerBound(index);
        double mid = lower + (BucketUpperBound(index) - (double)lower) / 2.0;
        return Math.Clamp(mid, (double)Min, (double)_max);
    }
}
