using AIOps.Trace.Aggregation;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Server.Security;
using AIOps.Trace.Server.Streaming;

namespace AIOps.Trace.Tests.Unit.Serve;

/// <summary>The sidecar's pure parts: bucket folding, the token check, the stream fan-out.</summary>
public sealed class SidecarPartsTests
{
    [Theory]
    [InlineData(500UL, 0)]
    [InlineData(999UL, 0)]
    [InlineData(1000UL, 1)]        // exactly 1 µs starts the next bucket, as the engine's histogram cuts
    [InlineData(1500UL, 1)]
    [InlineData(3999UL, 2)]
    [InlineData(1_000_000UL, 10)]  // 1 ms <= 1024 µs
    [InlineData(4_194_303_999UL, 22)]
    [InlineData(4_194_304_000UL, 23)]
    [InlineData(5_000_000_000UL, 23)] // above 2^22 µs: the overflow bucket
    public void A_wait_folds_into_the_published_bucket_whose_bounds_hold_it(ulong ns, int bucket)
    {
        var h = new LogLinearHistogram();
        h.Record(ns, 3);
        var seen = new List<(int Bucket, double Value, long Count)>();
        RunQueueBuckets.Fold(h, (b, v, n) => seen.Add((b, v, n)));
        (int b, double v, long n) = Assert.Single(seen);
        Assert.Equal(bucket, b);
        Assert.Equal(3, n);
        // The representative lies in the same published bucket: Prometheus counts it there too.
        Assert.True(bucket == 0 || v >= RunQueueBuckets.BoundsMicroseconds[bucket - 1] * 1000.0, $"{v} below bucket {bucket}");
        Assert.True(bucket == 23 || v < RunQueueBuckets.BoundsMicroseconds[bucket] * 1000.0, $"{v} above bucket {bucket}");
    }

    [Fact]
    public void Folding_keeps_every_count_and_the_buckets_cut_on_powers_of_two_microseconds()
    {
        var h = new LogLinearHistogram();
        var rng = new Random(7);
        var expected = new long[RunQueueBuckets.Count];
        for (int i = 0; i < 100_000; i++)
        {
            ulong ns = (ulong)Math.Exp(rng.NextDouble() * 22); // 1 ns .. ~3.6 s
            h.Record(ns);
            int e = 0;
            while (e < RunQueueBuckets.BoundsMicroseconds.Length && ns >= (ulong)RunQueueBuckets.BoundsMicroseconds[e] * 1000)
                e++;
            expected[e]++;
        }
        var folded = new long[RunQueueBuckets.Count];
        RunQueueBuckets.Fold(h, (b, _, n) => folded[b] += n);
        Assert.Equal(h.Count, folded.Sum());
        Assert.Equal(expected, folded);
    }

    [Fact]
    public void The_token_is_accepted_only_whole_with_the_bearer_scheme()
    {
        var t = new BearerToken("0123456789abcdef0123");
        Assert.True(t.Accepts("Bearer 0123456789abcdef0123"));
        Assert.True(t.Accepts("bearer 0123456789abcdef0123"));
        Assert.False(t.Accepts(null));
        Assert.False(t.Accepts(""));
        Assert.False(t.Accepts("Bearer "));
        Assert.False(t.Accepts("Bearer 0123456789abcdef012"));
        Assert.False(t.Accepts("Bearer 0123456789abcdef01234"));
        Assert.False(t.Accepts("Basic 0123456789abcdef0123"));
        Assert.False(t.Accepts("0123456789abcdef0123"));
    }

    [Fact]
    public void A_client_that_does_not_read_loses_frames_counted_and_the_others_get_all()
    {
        var metrics = new SidecarMetrics("n");
        var hub = new StreamHub(metrics, maxClients: 3);
        using StreamClient reading = hub.Join()!;
        using StreamClient stuck = hub.Join()!;
        using StreamClient third = hub.Join()!;
        Assert.Null(hub.Join()); // the limit
        var got = new List<long>();
        for (long seq = 1; seq <= 50; seq++)
        {
            hub.Publish(seq, [(byte)'{', (byte)'}']);
            while (reading.Frames.TryRead(out StreamItem? item))
                got.Add(item.Seq);
            while (third.Frames.TryRead(out _))
            {
            }
        }
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), got);
        Assert.Equal(50 - StreamHub.ClientBuffer, hub.DroppedFrames);
        Assert.Equal(50 - StreamHub.ClientBuffer, stuck.TakeDropped());
        Assert.Equal(0, stuck.TakeDropped());
        Assert.Equal(0, reading.TakeDropped());
        stuck.Dispose();
        Assert.Equal(2, hub.Clients);
    }
}
