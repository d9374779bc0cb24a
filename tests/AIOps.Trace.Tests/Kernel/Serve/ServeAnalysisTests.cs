using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Tests.Shared;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>
/// The anomaly pipeline inside a real sidecar: four replicas of one workload in test cgroups, one
/// of them capped; the sidecar names it, an operator labels it, the label survives a restart.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServeAnalysisTests : KernelTestBase
{
    private const string LightLoad = "sh -c 'while :; do sleep 0.1; done'";

    [Fact]
    public async Task The_capped_replica_is_named_abnormal_labels_are_stored_with_the_vector_and_seed_a_restart()
    {
        TestCgroup parent = NewCgroup("replicas");
        // Other work on this small machine must not starve the capped loop below its quota: then it would never be throttled.
        parent.WriteCpu("cpu.shares", "16384");
        var web = Enumerable.Range(0, 4).Select(i => Own(parent.CreateChild($"web-{i}"))).ToArray();
        TestCgroup capped = web[2];
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        foreach (TestCgroup cg in web)
            Track(cg.Start(cg == capped ? TestCgroup.BusyLoop : LightLoad));

        // Owned before the servers, so it is removed after them (they hold the database open).
        string dir = Own(new TempDir("aiops-serve-analysis-")).Path;
        string db = Path.Combine(dir, "verdicts.db"), tokenFile = Path.Combine(dir, "token");
        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(tokenFile, token + "\n");
        File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite); // serve refuses a token others may read
        ServeProcess serve = Own(ServeProcess.Start(token, "--token-file", tokenFile, "--interval", "1s", "--verdict-db", db));
        Assert.Contains("0 stored verdict(s)", serve.Stdout);

        // The domain of the four replicas, and the capped one named abnormal for its throttling.
        JsonElement verdict = await WaitForVerdict(serve, capped, v => v.GetProperty("status").GetString() == "abnormal"
            && v.GetProperty("off_metrics").EnumerateArray().Any(m => m.GetProperty("metric").GetString() == "throttled_ratio"));
        Assert.Equal("owner:web", verdict.GetProperty("domain").GetString());
        Assert.Equal("peer_outlier", verdict.GetProperty("detector").GetString());
        Assert.Equal(3, verdict.GetProperty("peers").GetArrayLength());
        Assert.True(verdict.GetProperty("score").GetDouble() > 1);
        Assert.Equal("owner is web", verdict.GetProperty("membership").GetString());
        Assert.Contains("cpu: cap_throttled", verdict.GetProperty("diagnosis").GetString());
        Assert.Equal(AIOps.Trace.Analysis.Collection.Metrics.Count, verdict.GetProperty("vector").EnumerateObject().Count());
        Assert.True(verdict.GetProperty("vector").GetProperty("throttled_ratio").GetDouble() > 0);
        string cappedId = verdict.GetProperty("id").GetString()!;

        using (JsonDocument domains = serve.GetJson("api/v1/domains"))
        {
            JsonElement d = domains.RootElement.GetProperty("domains").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "owner:web");
            Assert.Equal(web.Select(w => w.RelativePath).Order(), d.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("container").GetString()).Order());
            Assert.All(d.GetProperty("members").EnumerateArray(), m => Assert.Equal("owner is web", m.GetProperty("explanation").GetString()));
            Assert.Equal("owner", domains.RootElement.GetProperty("grouping").GetString());
        }

        // The verdict beside the container, and as series.
        using (JsonDocument detail = serve.GetJson("api/v1/containers/" + cappedId))
            Assert.Equal("owner:web", detail.RootElement.GetProperty("container").GetProperty("verdict").GetProperty("domain").GetString());
        IReadOnlyList<PromSample> samples = PromText.Parse(serve.Get("metrics"));
        PromSample anomaly = Assert.Single(samples, s => s.Name == "aiops_trace_anomaly" && s.Label("cgroup") == capped.RelativePath);
        Assert.Equal(("owner:web", "peer_outlier"), (anomaly.Label("domain"), anomaly.Label("detector")));
        Assert.Single(samples, s => s.Name == "aiops_trace_anomaly_score" && s.Label("cgroup") == capped.RelativePath);

        // Labels: bad ones are refused naming the field; good ones are stored with the vector.
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "Content-Type"), await Post(serve.Http, "{}", "text/plain"));
        Assert.Equal((HttpStatusCode.BadRequest, "body"), await Post(serve.Http, "{not json"));
        Assert.Equal((HttpStatusCode.BadRequest, "abnormal"), await Post(serve.Http, $$"""{"container": "{{capped.RelativePath}}", "abnormal": "yes"}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "abnormal"), await Post(serve.Http, $$"""{"container": "{{capped.RelativePath}}"}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "container"), await Post(serve.Http, """{"container": "/no/such/cgroup", "abnormal": true}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "kind"), await Post(serve.Http, $$"""{"container": "{{capped.RelativePath}}", "abnormal": false, "kind": "cpu_cap"}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "kind"), await Post(serve.Http, $$"""{"container": "{{capped.RelativePath}}", "abnormal": true, "kind": "<b>"}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "shade"), await Post(serve.Http, $$"""{"container": "{{capped.RelativePath}}", "abnormal": true, "shade": 1}"""));
        // Kestrel closes the connection after a 413 (the body is left unread): a client of its own,
        // so the next request does not meet that closed connection in the shared client's pool.
        using (var oversize = new HttpClient { BaseAddress = serve.Url })
        {
            oversize.DefaultRequestHeaders.Authorization = serve.Http.DefaultRequestHeaders.Authorization;
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Post(oversize, new string(' ', 5000) + "{}")).Status);
        }
        using (var anonymous = new HttpClient { BaseAddress = serve.Url })
            Assert.Equal(HttpStatusCode.Unauthorized, (await Post(anonymous, $$"""{"container": "{{capped.RelativePath}}", "abnormal": true}""")).Status);

        using (JsonDocument stored = await PostCreated(serve.Http, $$"""{"container": "{{capped.RelativePath}}", "abnormal": true, "kind": "cpu_cap"}"""))
        {
            Assert.Equal("owner:web", stored.RootElement.GetProperty("domain").GetString());
            Assert.Equal("cpu_cap", stored.RootElement.GetProperty("kind").GetString());
            Assert.True(stored.RootElement.GetProperty("stored").GetBoolean());
            Assert.True(stored.RootElement.GetProperty("vector").GetProperty("throttled_ratio").GetDouble() > 0);
        }
        string normalId = (await WaitForVerdict(serve, web[0], _ => true)).GetProperty("id").GetString()!;
        using (JsonDocument stored = await PostCreated(serve.Http, $$"""{"container": "{{normalId}}", "abnormal": false}"""))
            Assert.Equal(web[0].RelativePath, stored.RootElement.GetProperty("container").GetString());
        Assert.Equal(0, serve.Terminate());

        IReadOnlyList<OperatorVerdict> rows;
        using (VerdictStore store = VerdictStore.Open(db))
            rows = store.Verdicts();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(("owner:web", AIOps.Trace.Analysis.Collection.Metrics.Count), (r.Domain, r.Metrics?.Length ?? 0)));
        Assert.Equal((capped.RelativePath, true, "cpu_cap"), (rows[0].Container, rows[0].Abnormal, rows[0].Kind));
        Assert.True(rows[0].Metrics![AIOps.Trace.Analysis.Collection.Metrics.ThrottledRatio] > 0);

        // The CLI labels the same database, without a vector: kept, but nothing a sidecar learns from.
        var cli = CliProcess.Run("label", web[1].RelativePath, "--normal", "--domain", "owner:web", "--db", db);
        Assert.True(cli.ExitCode == 0, cli.Stderr);

        // Restarted on the same database without a token: seeded by the two labels with vectors, and closed to labels.
        ServeProcess again = Own(ServeProcess.Start(null, "--interval", "1s", "--verdict-db", db));
        Assert.Contains("2 stored verdict(s)", again.Stdout);
        await WaitForVerdict(again, capped, _ => true);
        using (JsonDocument verdicts = again.GetJson("api/v1/verdicts"))
        {
            Assert.Equal(2, verdicts.RootElement.GetProperty("seeded_verdicts").GetInt32());
            Assert.False(verdicts.RootElement.GetProperty("accepts_labels").GetBoolean());
        }
        using (JsonDocument domains = again.GetJson("api/v1/domains"))
        {
            JsonElement d = domains.RootElement.GetProperty("domains").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "owner:web");
            Assert.True(d.GetProperty("verified_samples").GetInt32() >= 2, d.ToString());
        }
        (HttpStatusCode status, string field) = await Post(again.Http, $$"""{"container": "{{capped.RelativePath}}", "abnormal": true}""");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("--token-file", field);
    }

    /// <summary>Polls GET /api/v1/verdicts until <paramref name="cg"/>'s verdict passes <paramref name="done"/>.</summary>
    internal static async Task<JsonElement> WaitForVerdict(ServeProcess serve, TestCgroup cg, Func<JsonElement, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        string last = "";
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            last = serve.Get("api/v1/verdicts");
            using JsonDocument d = JsonDocument.Parse(last);
            foreach (JsonElement v in d.RootElement.GetProperty("verdicts").EnumerateArray())
                if (v.GetProperty("container").GetString() == cg.RelativePath && done(v))
                    return v.Clone();
            await Task.Delay(500);
        }
        throw new Xunit.Sdk.XunitException($"no verdict as expected for {cg.RelativePath} in 30 s; last: {last}");
    }

    /// <summary>POSTs a label; returns the status and, for errors, the field the message starts with (or the whole message for 403).</summary>
    private static async Task<(HttpStatusCode Status, string Field)> Post(HttpClient http, string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using HttpResponseMessage r = await http.PostAsync("api/v1/verdicts", content);
        string text = await r.Content.ReadAsStringAsync();
        if (r.IsSuccessStatusCode)
            return (r.StatusCode, "");
        string error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        int colon = error.IndexOf(':');
        return (r.StatusCode, r.StatusCode == HttpStatusCode.Forbidden || colon < 0 ? error : error[..colon]);
    }

    private static async Task<JsonDocument> PostCreated(HttpClient http, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage r = await http.PostAsync("api/v1/verdicts", content);
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"POST {body}: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text);
    }
}
