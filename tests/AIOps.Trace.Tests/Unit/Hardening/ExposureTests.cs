using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AIOps.Trace.Server;
using AIOps.Trace.Tests.Kernel;
using AIOps.Trace.Tests.Shared;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>
/// Issue 14, item 9: what a client on the node network (or a web page in a browser on the node)
/// can reach. Real Kestrel on loopback, real engines sampling /proc, real sockets.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExposureTests : IDisposable
{
    private readonly TempDir _dir = new("aiops-harden-exposure-");

    public void Dispose() => _dir.Dispose();

    private static TraceEngine ProcfsEngine() => TraceEngine.Start(new EngineOptions { Mode = EngineMode.Procfs });

    /// <summary>Serves <paramref name="options"/> over a procfs engine until the returned handle is disposed.</summary>
    private static async Task<Served> Serve(SidecarOptions options)
    {
        TraceEngine engine = ProcfsEngine();
        var stop = new CancellationTokenSource();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task host = SidecarHost.RunAsync(engine, options, u => url.SetResult(u), stop: stop.Token);
        string started = await url.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new Served(new Uri(started), engine, stop, host);
    }

    private sealed record Served(Uri Url, TraceEngine Engine, CancellationTokenSource Stop, Task Host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Stop.Cancel();
            await Host.WaitAsync(TimeSpan.FromSeconds(30));
            Engine.Dispose();
            Stop.Dispose();
        }
    }

    private static SidecarOptions Loopback(string? token = null) =>
        new(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromMilliseconds(500), token, "node-harden");

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupRead, "0440")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite, "0602")]
    public void A_token_file_group_or_others_may_read_is_refused_in_one_line(UnixFileMode mode, string octal)
    {
        string file = Path.Combine(_dir.Path, "token");
        File.WriteAllText(file, "0123456789abcdef0123456789abcdef\n");
        File.SetUnixFileMode(file, mode);

        (int code, string stdout, string stderr) = CliProcess.Run("serve", "--mode", "procfs", "--listen", "127.0.0.1:0", "--token-file", file,
            "--verdict-db", Path.Combine(_dir.Path, "v.db"));

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"aiops-trace: --token-file '{file}' may be read by group or others (mode {octal}): expected 0600 or 0400 (chmod 600 '{file}'; a Kubernetes Secret volume: defaultMode: 0400)",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Theory]
    [InlineData("--tls-cert", "/aiops-harden-none.pem", "--tls-cert needs --tls-key")]
    [InlineData("--tls-key", "/aiops-harden-none.pem", "--tls-key needs --tls-cert")]
    [InlineData("--allowed-hosts", ",", "--allowed-hosts ',' is not a list of host names")]
    public void Bad_exposure_options_are_one_line_errors(string option, string value, string expected)
    {
        (int code, _, string stderr) = CliProcess.Run("serve", "--mode", "procfs", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task With_a_certificate_it_serves_https_only_and_the_token_never_crosses_in_clear()
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        string certFile = Path.Combine(_dir.Path, "tls.crt"), keyFile = Path.Combine(_dir.Path, "tls.key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        SidecarOptions options = Loopback(token) with { Certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile) };
        await using Served served = await Serve(options);

        Assert.Equal("https", served.Url.Scheme);
        using var handler = new HttpClientHandler
        {
            // Pinned to the test's own certificate: anything else is refused.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == cert.Thumbprint,
        };
        using var https = new HttpClient(handler) { BaseAddress = served.Url, Timeout = TimeSpan.FromSeconds(10) };
        https.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await https.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await https.GetAsync("metrics")).StatusCode);

        // Plain HTTP to the same port gets no answer: Kestrel expects a TLS handshake.
        using var plain = new HttpClient { BaseAddress = new UriBuilder(served.Url) { Scheme = "http" }.Uri, Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("healthz"));
    }

    [Fact]
    public async Task A_loopback_server_answers_only_loopback_host_names_so_dns_rebinding_gets_nothing()
    {
        await using Served served = await Serve(Loopback());
        using var http = new HttpClient { BaseAddress = served.Url, Timeout = TimeSpan.FromSeconds(10) };

        foreach (string route in new[] { "metrics", "api/v1/containers", "/" })
        {
            using var rebound = new HttpRequestMessage(HttpMethod.Get, route);
            rebound.Headers.Host = $"attacker.example:{served.Url.Port}";
            using HttpResponseMessage r = await http.SendAsync(rebound);
            Assert.Equal(HttpStatusCode.MisdirectedRequest, r.StatusCode);
            using System.Text.Json.JsonDocument error = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.StartsWith("Host 'attacker.example' is not served here", error.RootElement.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("metrics")).StatusCode); // Host: 127.0.0.1
        using var named = new HttpRequestMessage(HttpMethod.Get, "metrics");
        named.Headers.Host = $"localhost:{served.Url.Port}";
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(named)).StatusCode);
        using var probe = new HttpRequestMessage(HttpMethod.Get, "healthz");
        probe.Headers.Host = "10.1.2.3"; // a kubelet probe names the pod's address
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(probe)).StatusCode);
    }

    /// <summary>Opens <paramref name="count"/> TCP connections from <paramref name="from"/> that never send a byte.</summary>
    private static List<Socket> IdleConnections(IPAddress from, Uri server, int count)
    {
        var sockets = new List<Socket>(count);
        for (int i = 0; i < count; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(from, 0));
            s.Connect(IPAddress.Loopback, server.Port);
            sockets.Add(s);
        }
        return sockets;
    }

    private static async Task<TimeSpan> HealthzTook(Uri server)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        using HttpResponseMessage r = await http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return watch.Elapsed;
    }

    [Fact]
    public async Task One_client_holding_many_idle_connections_cannot_starve_healthz()
    {
        await using Served served = await Serve(Loopback());
        // More than Kestrel's old shared limit (512), all from one address that is not the prober's.
        List<Socket> idle = IdleConnections(IPAddress.Parse("127.0.0.2"), served.Url, 600);
        try
        {
            // The first probe also waits for the server to turn away the connections over the share.
            await HealthzTook(served.Url);
            for (int i = 0; i < 5; i++)
            {
                TimeSpan took = await HealthzTook(served.Url);
                Assert.True(took < TimeSpan.FromSeconds(1), $"/healthz took {took.TotalMilliseconds:0} ms beside 600 idle connections");
            }
        }
        finally
        {
            foreach (Socket s in idle)
                s.Dispose();
        }
    }

    [Fact]
    public async Task Three_hundred_idle_slow_connections_within_their_share_leave_healthz_under_a_second()
    {
        await using Served served = await Serve(Loopback());
        var idle = new List<Socket>();
        try
        {
            // 10 addresses x 30: every one is accepted (each address is within its share) and held idle.
            for (int a = 2; a < 12; a++)
                idle.AddRange(IdleConnections(IPAddress.Parse($"127.0.0.{a}"), served.Url, 30));
            foreach (Socket s in idle.Take(5))
                s.Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"u8); // a slow header that never ends
            for (int i = 0; i < 5; i++)
            {
                TimeSpan took = await HealthzTook(served.Url);
                Assert.True(took < TimeSpan.FromSeconds(1), $"/healthz took {took.TotalMilliseconds:0} ms beside 300 idle connections");
            }
            Assert.Equal(300, idle.Count(s => s.Connected));
        }
        finally
        {
            foreach (Socket s in idle)
                s.Dispose();
        }
    }
}
