using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Tests.Kernel;
using AIOps.Trace.Tests.Shared;
using AIOps.Trace.Tests.Unit.Analysis;
using Microsoft.Data.Sqlite;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>Issue 14, items 2 and 6: a verdict database with bad rows, and one that would grow without bound.</summary>
public sealed class VerdictStoreFaultTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new("aiops-harden-verdicts-");
    private string Db => Path.Combine(_dir.Path, "verdicts.db");

    public void Dispose() => _dir.Dispose();

    /// <summary>Two good rows with a vector, then rows another tool wrote: integrity_check passes on all of them.</summary>
    private double[] WriteDatabaseWithBadRows()
    {
        double[] vector = Synthetic.Normal(new Random(7), "x").Values;
        using (VerdictStore store = VerdictStore.Open(Db))
        {
            store.Record(new OperatorVerdict("/kubepods/a", "owner:shop/web", true, "noisy_neighbour", vector, T0, T0));
            store.Record(new OperatorVerdict("/kubepods/b", "owner:shop/web", false, null, vector, T0, T0.AddSeconds(1)));
        }
        using var c = new SqliteConnection($"Data Source={Db};Pooling=False");
        c.Open();
        using SqliteCommand bad = c.CreateCommand();
        bad.CommandText = """
            INSERT INTO verdicts (container, domain, abnormal, kind, metrics, window_end, recorded_at) VALUES
              ('/kubepods/c', 'owner:shop/web', 1, NULL, NULL, NULL, 'yesterday at noon'),
              ('/kubepods/d', 'owner:shop/web', 0, NULL, 'not a blob', NULL, '2026-12-02T10:00:00Z'),
              ('/kubepods/e', 'owner:shop/web', 0, NULL, x'0102030405', NULL, '2026-12-02T10:00:00Z'),
              ('/kubepods/f', 'owner:shop/web', 0, NULL, NULL, 12345, '2026-12-02T10:00:00Z');
            """;
        bad.ExecuteNonQuery();
        using SqliteCommand check = c.CreateCommand();
        check.CommandText = "PRAGMA integrity_check;";
        Assert.Equal("ok", check.ExecuteScalar());
        return vector;
    }

    [Fact]
    public void Rows_that_hold_no_readable_verdict_are_skipped_and_counted()
    {
        double[] vector = WriteDatabaseWithBadRows();
        using VerdictStore store = VerdictStore.Open(Db);

        Assert.Null(store.Problem); // a sound file: not set aside
        IReadOnlyList<OperatorVerdict> all = store.Verdicts();
        Assert.Equal(["/kubepods/a", "/kubepods/b"], all.Select(v => v.Container));
        Assert.Equal(4, store.UnreadableRows);

        using var analyzer = new AnomalyAnalyzer();
        Assert.Equal(2, store.FeedInto(analyzer));
        Assert.Equal(4, store.UnreadableRows);
        Assert.Equal(2, analyzer.Models["owner:shop/web"].Training.Count);
        Assert.Equal(vector, analyzer.Models["owner:shop/web"].Training.Samples.First().Values);
    }

    [Fact]
    public void Analyze_starts_on_a_database_with_bad_rows_and_says_how_many_it_skipped()
    {
        WriteDatabaseWithBadRows();

        // Nothing listens on port 9: the round fails as documented (exit 1), after the store was read.
        (int code, string stdout, string stderr) = CliProcess.Run("analyze", "--once", "--prometheus", "http://127.0.0.1:9/", "--verdict-db", Db);

        Assert.Equal(1, code);
        Assert.Contains($"aiops-trace: --verdict-db '{Db}': 4 row(s) do not hold a readable verdict", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.DoesNotContain("Unhandled", stderr);
    }

    [Fact]
    public void The_store_keeps_only_the_newest_rows()
    {
        using (VerdictStore store = VerdictStore.Open(Db, maxRows: 10))
        {
            for (int i = 0; i < 25; i++)
                store.Record(new OperatorVerdict($"/kubepods/{i}", null, false, null, null, null, T0.AddSeconds(i)));
            Assert.Equal(Enumerable.Range(15, 10).Select(i => $"/kubepods/{i}"), store.Verdicts().Select(v => v.Container));
        }
        // A file written with a larger limit is trimmed when opened with a smaller one.
        using (VerdictStore reopened = VerdictStore.Open(Db, maxRows: 4))
            Assert.Equal(Enumerable.Range(21, 4).Select(i => $"/kubepods/{i}"), reopened.Verdicts().Select(v => v.Container));
    }
}
