using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Verification;

namespace AIOps.Trace.Tests.Unit.Analysis;

public sealed class VerdictStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"aiops-verdicts-{Guid.NewGuid():N}");
    private string Db => Path.Combine(_dir, "verdicts.db");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Verdicts_round_trip_and_survive_a_restart()
    {
        double[] vector = Synthetic.Normal(new Random(1), "x").Values;
        using (VerdictStore store = VerdictStore.Open(Db))
        {
            Assert.Null(store.SetAside);
            OperatorVerdict a = store.Record(new OperatorVerdict("/kubepods/a", "owner:shop/web", true, "noisy_neighbour", vector, T0, T0.AddMinutes(1)));
            OperatorVerdict b = store.Record(new OperatorVerdict("/kubepods/b", null, false, null, null, null, T0.AddMinutes(2)));
            Assert.True(b.Id > a.Id && a.Id > 0);
        }
        using (VerdictStore reopened = VerdictStore.Open(Db))
        {
            Assert.Null(reopened.Problem);
            IReadOnlyList<OperatorVerdict> all = reopened.Verdicts();
            Assert.Equal(2, all.Count);
            OperatorVerdict a = all[0];
            Assert.Equal(("/kubepods/a", "owner:shop/web", true, "noisy_neighbour"), (a.Container, a.Domain, a.Abnormal, a.Kind));
            Assert.Equal(T0, a.WindowEnd);
            Assert.Equal(T0.AddMinutes(1), a.RecordedAt);
            Assert.Equal(vector.Length, a.Metrics!.Length);
            for (int i = 0; i < vector.Length; i++)
                Assert.Equal(vector[i], a.Metrics[i]); // NaN slots included
            Assert.Null(all[1].Metrics);
            Assert.Single(reopened.Verdicts(domain: "owner:shop/web"));
            Assert.Single(reopened.Verdicts(container: "/kubepods/b"));
        }
    }

    [Fact]
    public void A_corrupt_file_is_reported_and_set_aside_never_silently_replaced()
    {
        Directory.CreateDirectory(_dir);
        byte[] garbage = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(Db, garbage);
        var clock = new FixedClock(T0);
        using (VerdictStore store = VerdictStore.Open(Db, clock))
        {
            Assert.Equal(Db + ".corrupt-20261126T150000Z", store.SetAside);
            Assert.Contains("not a readable SQLite database", store.Problem);
            Assert.Equal(garbage, File.ReadAllBytes(store.SetAside!)); // kept byte for byte
            Assert.Empty(store.Verdicts());
            store.Record(new OperatorVerdict("/c", "d", false, null, null, null, T0));
        }
        // A second corrupt file in the same second does not overwrite the first one set aside.
        File.WriteAllBytes(Db, garbage[..1000]);
        using (VerdictStore again = VerdictStore.Open(Db, clock))
            Assert.Equal(Db + ".corrupt-20261126T150000Z-1", again.SetAside);
    }

    [Fact]
    public void A_damaged_database_page_fails_the_integrity_check_and_is_set_aside()
    {
        using (VerdictStore store = VerdictStore.Open(Db))
            for (int i = 0; i < 200; i++)
                store.Record(new OperatorVerdict($"/c{i}", "d", i % 2 == 0, null, new double[Metrics.Count], null, T0));
        byte[] bytes = File.ReadAllBytes(Db);
        Assert.True(bytes.Length > 3 * 4096);
        for (int i = 4096 + 100; i < 3 * 4096; i++)
            bytes[i] = 0x5a; // scribble over pages after the header
        File.WriteAllBytes(Db, bytes);
        using VerdictStore reopened = VerdictStore.Open(Db);
        Assert.NotNull(reopened.SetAside);
        Assert.NotNull(reopened.Problem);
        Assert.True(File.Exists(reopened.SetAside));
    }

    [Fact]
    public void Stored_verdicts_feed_the_domains_training_sets()
    {
        var r = new Random(3);
        using (VerdictStore store = VerdictStore.Open(Db))
        {
            for (int i = 0; i < 4; i++)
                store.Record(new OperatorVerdict($"/c{i}", "owner:shop/web", true, "cap",
                    Synthetic.Shifted(r, "a", 8, Metrics.ThrottledRatio).Values, null, T0));
            for (int i = 0; i < 10; i++)
                store.Record(new OperatorVerdict($"/n{i}", "owner:shop/web", false, null, Synthetic.Normal(r, "n").Values, null, T0));
            store.Record(new OperatorVerdict("/nodomain", null, true, null, Synthetic.Normal(r, "n").Values, null, T0));
        }
        using VerdictStore reopened = VerdictStore.Open(Db);
        using var analyzer = new AnomalyAnalyzer();
        Assert.Equal(14, reopened.FeedInto(analyzer));
        DomainModel model = analyzer.ModelFor("owner:shop/web");
        Assert.Equal(4, model.Training.VerifiedAbnormal);
        Verdict v = model.Judge("/new", Synthetic.Shifted(r, "z", 8, Metrics.ThrottledRatio).Values, [])!;
        Assert.Equal(DetectorNames.Csvc, v.Detector); // 4 anomalies of 14 labels: no class weights
        Assert.True(v.IsAbnormal);
    }

    [Fact]
    public void The_peers_scales_are_kept_beside_their_medians_and_teach_the_shared_model()
    {
        double[] vector = Synthetic.Normal(new Random(3), "x").Values, medians = Synthetic.Normal(new Random(4), "m").Values,
            scales = Synthetic.Normal(new Random(5), "s").Values;
        using (VerdictStore store = VerdictStore.Open(Db))
        {
            store.Record(new OperatorVerdict("/a", "owner:web", true, "cpu_cap", vector, T0, T0, PeerMedians: medians, PeerScales: scales));
            store.Record(new OperatorVerdict("/b", "owner:web", false, null, vector, T0, T0, PeerMedians: medians));
        }
        using VerdictStore reopened = VerdictStore.Open(Db);
        IReadOnlyList<OperatorVerdict> rows = reopened.Verdicts();
        Assert.Equal(scales, rows[0].PeerScales);
        Assert.Null(rows[1].PeerScales);
        using var analyzer = new AnomalyAnalyzer();
        Assert.Equal(2, reopened.FeedInto(analyzer));
        Assert.Equal(scales, analyzer.Shared.Training.Samples.Single().PeerScales);
        Assert.Single(analyzer.Models["owner:web"].Training.Samples); // without the scales: its own domain's
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Peer_medians_round_trip_and_a_version_1_file_gains_their_column()
    {
        Directory.CreateDirectory(_dir);
        using (var v1 = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            v1.Open();
            using var create = v1.CreateCommand();
            create.CommandText = """
                CREATE TABLE verdicts (id INTEGER PRIMARY KEY AUTOINCREMENT, container TEXT NOT NULL, domain TEXT,
                    abnormal INTEGER NOT NULL CHECK (abnormal IN (0, 1)), kind TEXT, metrics BLOB, window_end TEXT, recorded_at TEXT NOT NULL);
                INSERT INTO verdicts (container, domain, abnormal, recorded_at) VALUES ('/old', 'owner:web', 1, '2026-11-26T15:00:00.0000000+00:00');
                PRAGMA user_version = 1;
                """;
            create.ExecuteNonQuery();
        }
        double[] vector = Synthetic.Normal(new Random(3), "x").Values, medians = Synthetic.Normal(new Random(4), "m").Values;
        using (VerdictStore store = VerdictStore.Open(Db))
        {
            Assert.Null(store.SetAside);
            Assert.Null(Assert.Single(store.Verdicts()).PeerMedians);
            store.Record(new OperatorVerdict("/new", "owner:web", true, "cpu_cap", vector, T0, T0, PeerMedians: medians));
        }
        using (VerdictStore reopened = VerdictStore.Open(Db))
        {
            OperatorVerdict stored = reopened.Verdicts(container: "/new").Single();
            Assert.Equal(medians, stored.PeerMedians);
            using var analyzer = new AnomalyAnalyzer();
            Assert.Equal(1, reopened.FeedInto(analyzer)); // the old row has no vector: kept, listed, not learnt
            Assert.Equal(medians, analyzer.Models["owner:web"].Training.Samples.Single().PeerMedians);
        }
    }
}
