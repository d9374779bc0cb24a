using System.Net;
using System.Text;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Cli;
using AIOps.Trace.Hardening;
using AIOps.Trace.Tests.Shared;
using CsCheck;
using Microsoft.Data.Sqlite;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>
/// Every parser that reads input from outside the process (the kernel's text files under a
/// --host-root that may be anything, cgroupfs, netlink, BTF files, Prometheus' answers, the
/// verdict database, the command line) takes random and mutated input without throwing anything
/// but its documented refusal, and without hanging. Inputs are real samples from this machine,
/// mutated byte by byte, and plain random bytes; CsCheck shrinks a failure to a small input.
/// </summary>
public sealed class ParserPropertyTests
{
    private const int Iterations = 3_000;

    /// <summary>Runs <paramref name="property"/> under a deadline: a parser that loops forever fails the test instead of hanging it.</summary>
    private static void NoHang(Action property, int seconds = 120)
    {
        Task run = Task.Run(property);
        Assert.True(run.Wait(TimeSpan.FromSeconds(seconds)), $"the property did not finish in {seconds}s: a parser hangs");
        run.GetAwaiter().GetResult();
    }

    private static readonly char[] Interesting = " \t\n:-/0123456789abcxyzNaInf+e.,()[]{}\"\0\u00e9\uffff".ToCharArray();

    /// <summary>A valid sample with random edits: characters replaced, inserted, removed, lines cut.</summary>
    private static Gen<string> Mutated(string sample) =>
        Gen.Select(Gen.Int[0, 12].Array[0, 24], Gen.Int[0, Math.Max(0, sample.Length)].Array[0, 24], Gen.Int[0, Interesting.Length - 1].Array[0, 24])
            .Select((ops, positions, chars) =>
            {
                var b = new StringBuilder(sample);
                for (int i = 0; i < ops.Length && i < positions.Length && i < chars.Length; i++)
                {
                    int at = Math.Min(positions[i], b.Length);
                    char c = Interesting[chars[i]];
                    switch (ops[i])
                    {
                        case < 4 when at < b.Length: b[at] = c; break;
                        case < 8: b.Insert(at, c); break;
                        case < 10 when at < b.Length: b.Remove(at, 1); break;
                        case 10: b.Length = at; break;
                        case 11: b.Insert(at, "99999999999999999999999"); break;
                        default: b.Insert(at, '\n'); break;
                    }
                }
                return b.ToString();
            });

    private static Gen<string> TextLike(string sample) => Gen.OneOf(Mutated(sample), Gen.String[0, 300], Gen.Const(""));

    /// <summary>Every family of the fuzz harness's table but its canary.</summary>
    public static TheoryData<string> Families => new(ParserTargets.All.Keys.Where(k => k != "canary"));

    /// <summary>A seed with random bytes replaced (binary inputs: netlink messages, BTF headers).</summary>
    private static Gen<byte[]> Flipped(byte[] seed) =>
        Gen.Select(Gen.Int[0, Math.Max(0, seed.Length - 1)].Array[1, 8], Gen.Byte.Array[8]).Select((at, values) =>
        {
            byte[] b = (byte[])seed.Clone();
            for (int i = 0; i < at.Length && b.Length > 0; i++)
                b[at[i]] = values[i];
            return b;
        });

    /// <summary>
    /// The fuzz harness's parsers, family by family: this machine's own files (or small valid
    /// samples) edited as text and byte by byte, and plain random bytes.
    /// </summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void Parsers_of_outside_input_take_mutated_and_random_input(string family) => NoHang(() =>
    {
        Action<byte[]> parse = ParserTargets.All[family];
        Gen<byte[]>[] inputs = [.. ParserTargets.SeedInputs(family).SelectMany(seed => (Gen<byte[]>[])
            [Mutated(Encoding.UTF8.GetString(seed)).Select(Encoding.UTF8.GetBytes), Flipped(seed)]), Gen.Byte.Array[0, 512]];
        Gen.OneOf(inputs).Sample(parse, iter: family == "btf" ? 1_000 : Iterations);
    });

    [Fact]
    public void The_canarys_planted_fault_is_found_by_the_same_property()
    {
        // The canary throws on any input holding '!': the property above must report it, shrunk.
        Action<byte[]> parse = ParserTargets.All["canary"];
        Exception e = Assert.ThrowsAny<Exception>(() => Gen.Byte.Array[0, 512].Sample(parse, iter: Iterations));
        Assert.Contains("canary: the harness reports an exception as a crash", e.ToString());
    }

    /// <summary>Answers every request with the body under test (the transport, not the parser, is replaced).</summary>
    private sealed class FixedAnswer(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }

    [Fact]
    public void Prometheus_answers() => NoHang(() =>
        Gen.Select(TextLike("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{"container":"a","node":"n"},"value":[1.7e9,"0.25"]}]}}"""),
                Gen.OneOf(Gen.Const(HttpStatusCode.OK), Gen.Const(HttpStatusCode.BadGateway), Gen.Const(HttpStatusCode.NotFound)))
            .Sample((body, status) =>
            {
                using var client = new PrometheusClient(new Uri("http://127.0.0.1:9/"), handler: new FixedAnswer(status, body));
                try
                {
                    client.QueryAsync("up", CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (ContainerSourceException)
                {
                    // The documented refusal: one message naming the server and what was wrong.
                }
            }, iter: Iterations));

    [Fact]
    public void Verdict_store_rows() => NoHang(() =>
    {
        using var dir = new TempDir("aiops-harden-rows-");
        string db = Path.Combine(dir.Path, "v.db");
        VerdictStore.Open(db).Dispose();
        Gen.Select(Gen.Byte.Array[0, 64], TextLike("2026-12-02T10:00:00.0000000+00:00"), Gen.String[0, 20], Gen.Int[0, 3])
            .Sample((blob, date, text, shape) =>
            {
                using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
                {
                    c.Open();
                    using SqliteCommand insert = c.CreateCommand();
                    insert.CommandText = "INSERT INTO verdicts (container, domain, abnormal, kind, metrics, window_end, recorded_at, peer_medians) " +
                                         "VALUES ($c, $d, $a, $k, $m, $w, $r, $p);";
                    insert.Parameters.AddWithValue("$c", shape == 0 ? (object)blob : text.Length == 0 ? "x" : text);
                    insert.Parameters.AddWithValue("$d", shape == 1 ? (object)blob : "owner:x");
                    insert.Parameters.AddWithValue("$a", shape == 2 ? 0 : 1);
                    insert.Parameters.AddWithValue("$k", shape == 3 ? (object)blob : DBNull.Value);
                    insert.Parameters.AddWithValue("$m", shape == 2 ? (object)text : blob);
                    insert.Parameters.AddWithValue("$w", shape == 3 ? (object)blob : date);
                    insert.Parameters.AddWithValue("$r", shape == 1 ? (object)text : date);
                    insert.Parameters.AddWithValue("$p", shape == 0 ? (object)date : blob);
                    insert.ExecuteNonQuery();
                }
                using VerdictStore store = VerdictStore.Open(db);
                IReadOnlyList<OperatorVerdict> all = store.Verdicts();
                int unreadable = store.UnreadableRows;
                Assert.Equal(RowCount(db), all.Count + unreadable); // every row read or counted, none lost silently
                using var analyzer = new AIOps.Trace.Analysis.Detection.AnomalyAnalyzer();
                store.FeedInto(analyzer);
                Assert.Equal(unreadable, store.UnreadableRows);
            }, iter: 300, threads: 1); // the count is of the whole file: one writer at a time, or another sample's row lands between the reads
    });

    [Fact]
    public void A_store_opened_while_others_write_is_never_set_aside() => NoHang(() =>
    {
        // `label` and `analyze` open the file that `serve` is writing: a busy file is not a corrupt one.
        using var dir = new TempDir("aiops-harden-busy-");
        string db = Path.Combine(dir.Path, "v.db");
        VerdictStore.Open(db).Dispose();
        int recorded = 0;
        Gen.Int[0, 3].Sample(n =>
        {
            using VerdictStore store = VerdictStore.Open(db);
            Assert.Null(store.SetAside);
            store.Record(new OperatorVerdict($"/c{n}", "owner:x", n == 0, null, [n, 1.0], null, DateTimeOffset.UnixEpoch));
            Interlocked.Increment(ref recorded);
            Assert.NotEmpty(store.Verdicts());
        }, iter: 400, threads: 4);
        using VerdictStore after = VerdictStore.Open(db);
        Assert.Equal(recorded, after.Verdicts().Count);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.corrupt-*"));
    });

    private static long RowCount(string db)
    {
        using var c = new SqliteConnection($"Data Source={db};Pooling=False;Mode=ReadOnly");
        c.Open();
        using SqliteCommand count = c.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM verdicts;";
        return (long)count.ExecuteScalar()!;
    }

    [Fact]
    public void Cli_durations_and_addresses() => NoHang(() =>
        Gen.Select(TextLike("1.5s"), TextLike("127.0.0.1:9464"), Gen.Double)
            .Sample((text, listen, number) =>
            {
                Arguments.TryParseDuration(text, out _);
                Arguments.TryParseDuration(number.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "h", out _);
                try
                {
                    Arguments.Parse("watch", "--interval", text).Duration("interval", TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.MaxValue);
                    ServeCommand.ParseListen(listen);
                }
                catch (UsageException)
                {
                    // The documented refusal: one line, exit 2.
                }
            }, iter: Iterations));
}
