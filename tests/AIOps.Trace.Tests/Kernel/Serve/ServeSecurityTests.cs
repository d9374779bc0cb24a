using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>`serve` refuses an open port without a token, checks the token, bounds requests, and leaves nothing loaded after SIGTERM.</summary>
public sealed class ServeSecurityTests : KernelTestBase
{
    [Theory]
    [InlineData("0.0.0.0:0")]
    [InlineData("[::]:0")]
    public void A_non_loopback_address_without_a_token_refuses_to_start(string listen)
    {
        (int code, string stdout, string stderr) = CliProcess.Run("serve", "--listen", listen);
        Assert.Equal(2, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("is not a loopback address", line);
        Assert.Contains("--token-file", line);
        Assert.DoesNotContain("serving", stdout);
    }

    [Theory]
    [InlineData("--listen", "9464", "is not an address")]
    [InlineData("--listen", "nowhere:80", "is not an address")]
    [InlineData("--token-file", "/nonexistent/token", "cannot be read")]
    [InlineData("--interval", "10ms", "out of range")]
    [InlineData("--runqueue-buckets", "fine", "is not a layout")]
    public void Bad_options_are_one_line_errors(string option, string value, string expected)
    {
        (int code, _, string stderr) = CliProcess.Run("serve", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Every_route_but_healthz_needs_the_token_and_bad_requests_get_4xx()
    {
        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, token + "\n");
            ServeProcess serve = Own(ServeProcess.Start(token, "--token-file", file, "--interval", "500ms"));
            using var anonymous = new HttpClient { BaseAddress = serve.Url };

            Assert.Equal(HttpStatusCode.OK, Status(anonymous, "healthz"));
            foreach (string route in new[] { "readyz", "metrics", "api/v1/containers", "api/v1/containers/1", "api/v1/stream", "api/v1/verdicts", "api/v1/domains", "nothing-here" })
            {
                Assert.Equal(HttpStatusCode.Unauthorized, Status(anonymous, route));
                Assert.Equal(HttpStatusCode.Unauthorized, Status(anonymous, route, new AuthenticationHeaderValue("Bearer", token + "x")));
                Assert.Equal(HttpStatusCode.Unauthorized, Status(anonymous, route, new AuthenticationHeaderValue("Bearer", token[..^1])));
                Assert.Equal(HttpStatusCode.Unauthorized, Status(anonymous, route, new AuthenticationHeaderValue("Basic", token)));
            }
            using (HttpResponseMessage r = await anonymous.GetAsync("metrics"))
            {
                Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Contains("\"error\"", await r.Content.ReadAsStringAsync());
            }
            Assert.Equal(HttpStatusCode.OK, Status(serve.Http, "metrics"));
            Assert.Equal(HttpStatusCode.OK, Status(serve.Http, "api/v1/containers"));
            Assert.Equal(HttpStatusCode.NotFound, Status(serve.Http, "api/v1/containers/999999999999"));

            // Security headers on every answer.
            using (HttpResponseMessage r = await serve.Http.GetAsync("api/v1/containers"))
            {
                Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
                Assert.StartsWith("default-src 'self'", r.Headers.GetValues("Content-Security-Policy").Single());
                Assert.Equal("application/json", r.Content.Headers.ContentType!.MediaType);
            }

            // No write routes; oversized and malformed requests.
            Assert.Equal(HttpStatusCode.MethodNotAllowed, Send(serve.Http, HttpMethod.Post, "metrics", new StringContent("x")));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, Send(serve.Http, HttpMethod.Delete, "api/v1/containers/1"));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, Send(serve.Http, HttpMethod.Put, "api/v1/containers", new StringContent("{}")));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, Send(serve.Http, HttpMethod.Put, "api/v1/containers", new StringContent(new string('x', 100_000))));
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, SendWithHeader(serve.Http, new string('h', 20_000)));
            Assert.Equal(HttpStatusCode.RequestUriTooLong, Status(serve.Http, "api/v1/containers/" + new string('9', 10_000)));
            Assert.StartsWith("HTTP/1.1 400", Raw(serve.Url, "GET /metrics HTTP/1.1\r\nHost: x\r\nA header without a colon\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400", Raw(serve.Url, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 413", Raw(serve.Url, $"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"));

            // The rate limiter: a burst past 200 requests in well under a second meets 429.
            var codes = new List<HttpStatusCode>();
            for (int i = 0; i < 400 && !codes.Contains(HttpStatusCode.TooManyRequests); i++)
                codes.Add(Status(serve.Http, "readyz"));
            Assert.Contains(HttpStatusCode.TooManyRequests, codes);
            Assert.True(codes.Count(c => c == HttpStatusCode.OK) >= 150, $"{codes.Count(c => c == HttpStatusCode.OK)} requests passed before the limit");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Sigterm_stops_serve_with_a_stream_open_and_leaves_no_program_or_link()
    {
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "200ms"));
        Assert.NotEmpty(BpfState.OurPrograms());
        using var client = new HttpClient { BaseAddress = serve.Url, Timeout = Timeout.InfiniteTimeSpan };
        using HttpResponseMessage stream = await client.GetAsync("api/v1/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(stream.Content.ReadAsStream());
        Assert.Equal("event: hello", await reader.ReadLineAsync());

        var stopping = Stopwatch.StartNew();
        Assert.Equal(0, serve.Terminate());
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"took {stopping.Elapsed} to stop");
        Assert.Contains("programs detached", serve.Stdout);
        IReadOnlyList<int> left = BpfState.OurProgramsAfterRelease();
        Assert.True(left.Count == 0, $"programs left after SIGTERM: {string.Join(", ", left)} ({BpfState.LinksOf(left)} links)");
        Assert.Equal(0, BpfState.LinksOf(BpfState.OurPrograms()));
    }

    private static HttpStatusCode Status(HttpClient http, string path, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (auth is not null)
            request.Headers.Authorization = auth;
        using HttpResponseMessage r = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
        return r.StatusCode;
    }

    [Fact]
    public void Once_attached_every_thread_keeps_only_the_tracing_capabilities_and_the_windows_go_on()
    {
        ulong mine = ProcFs.ThreadCapabilities(Environment.ProcessId).First(t => t.Tid == Environment.ProcessId).Effective;
        const ulong setuid = 1UL << 7, netAdmin = 1UL << 12, dacOverride = 1UL << 1;
        Assert.True((mine & (setuid | netAdmin | dacOverride)) == (setuid | netAdmin | dacOverride),
            $"the test runs as full root so that serve starts with every capability (CapEff {mine:x})");

        using ServeProcess serve = ServeProcess.Start(null, "--mode", "ebpf", "--interval", "1s");
        // What it keeps is the tracing set as far as it held it (this host's bounding set lacks CAP_SYS_RESOURCE).
        ulong kept = ProcessCapabilities.Tracing & mine;
        Assert.True((kept & ((1UL << 21) | (1UL << 39))) != 0, "serve keeps CAP_SYS_ADMIN and CAP_BPF to load the programs again");
        serve.WaitForStdout($"capabilities limited on every thread: kept {string.Join(", ", ProcessCapabilities.NamesOf(kept))}; dropped");
        long seq = serve.WaitForWindowAfter(0);
        // Threads started after the limit (thread pool growth under a few windows and requests) inherit it.
        for (int i = 0; i < 3; i++)
        {
            seq = serve.WaitForWindowAfter(seq);
            Assert.Contains("aiops_trace_windows_total", serve.Get("metrics"));
        }
        var threads = ProcFs.ThreadCapabilities(serve.Pid);
        Assert.True(threads.Count > 5, $"serve has {threads.Count} threads");
        foreach (var t in threads)
        {
            Assert.Equal(kept, t.Effective);
            Assert.Equal(kept, t.Permitted);
            Assert.Equal(0UL, t.Bounding & ~ProcessCapabilities.Tracing);
            Assert.True(t.NoNewPrivs, $"thread {t.Tid} has no_new_privs");
        }
        Assert.Equal(0, serve.Terminate());
    }

    private static HttpStatusCode Send(HttpClient http, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using HttpResponseMessage r = http.SendAsync(request).GetAwaiter().GetResult();
        return r.StatusCode;
    }

    private static HttpStatusCode SendWithHeader(HttpClient http, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        request.Headers.Add("X-Big", value);
        using HttpResponseMessage r = http.SendAsync(request).GetAwaiter().GetResult();
        return r.StatusCode;
    }

    /// <summary>Sends raw bytes and returns the status line of the answer.</summary>
    private static string Raw(Uri url, string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
        socket.Connect(url.Host, url.Port);
        socket.Send(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        int n = socket.Receive(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n).Split("\r\n")[0];
    }
}
