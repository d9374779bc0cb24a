using System.Net;
using AIOps.Trace.Server;
using AIOps.Trace.Server.Engine;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>
/// Issue 14, item 7: the engine inside `serve` dies (here: disposed under the loop, so the next cut
/// throws) and the supervisor restarts it with backoff; /healthz says so meanwhile; an engine that
/// cannot start again ends the host with <see cref="EngineFailedException"/> (serve exits 1).
/// Real engines sampling /proc (no BPF needed), a real Kestrel on loopback.
/// </summary>
public sealed class SupervisorTests
{
    private static TraceEngine ProcfsEngine() =>
        TraceEngine.Start(new EngineOptions { Mode = EngineMode.Procfs, PollInterval = TimeSpan.FromMilliseconds(100) });

    private static Task Until(Func<Task<bool>> condition, TimeSpan within, string what) => Until(condition, within, () => what);

    private static async Task Until(Func<Task<bool>> condition, TimeSpan within, Func<string> what)
    {
        DateTime deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {within.TotalSeconds}s: {what()}");
            await Task.Delay(50);
        }
    }

    /// <summary>True when /readyz answers 200; else false, keeping its answer for the failure message.</summary>
    private static async Task<bool> Ready(HttpClient http, List<string> answers)
    {
        using HttpResponseMessage r = await http.GetAsync("readyz");
        answers.Add($"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return r.IsSuccessStatusCode;
    }

    [Fact]
    public async Task A_failed_engine_is_restarted_and_healthz_says_so_while_it_is_down()
    {
        using TraceEngine first = ProcfsEngine();
        var started = new List<TraceEngine>();
        var options = new SidecarOptions(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromMilliseconds(200), null, "node-harden");
        var policy = new SupervisorPolicy(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), 3);
        using var stop = new CancellationTokenSource();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task host = SidecarHost.RunAsync(first, options, u => url.SetResult(u), stop: stop.Token, policy: policy,
            restart: () => { TraceEngine e = ProcfsEngine(); lock (started) started.Add(e); return e; });
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(await url.Task.WaitAsync(TimeSpan.FromSeconds(30))), Timeout = TimeSpan.FromSeconds(5) };
            var answers = new List<string>();
            await Until(() => Ready(http, answers), TimeSpan.FromSeconds(20), () => "a first window: " + string.Join(" | ", answers.TakeLast(3)));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);

            first.Dispose(); // the next cut throws ObjectDisposedException, as any fault inside a cut would

            string down = "";
            await Until(async () =>
            {
                HttpResponseMessage r = await http.GetAsync("healthz");
                down = await r.Content.ReadAsStringAsync();
                return r.StatusCode == HttpStatusCode.ServiceUnavailable;
            }, TimeSpan.FromSeconds(10), "/healthz to say the engine is down");
            // Disposal stops the reader thread too: the loop sees either the reader's failure or the disposed engine.
            Assert.Matches(@"^unhealthy: the engine failed \((the ring reader stopped|ObjectDisposedException while cutting a window)", down);
            Assert.False(host.IsCompleted, "the host stopped instead of restarting the engine");

            await Until(async () => (await http.GetAsync("healthz")).IsSuccessStatusCode && (await http.GetAsync("readyz")).IsSuccessStatusCode,
                TimeSpan.FromSeconds(20), "the restarted engine to cut a window");
            string metrics = await http.GetStringAsync("metrics");
            Assert.Contains("aiops_trace_engine_restarts_total{node=\"node-harden\"} 1", metrics);
            lock (started)
                Assert.Single(started);
        }
        finally
        {
            stop.Cancel();
            await host.WaitAsync(TimeSpan.FromSeconds(30));
            lock (started)
                foreach (TraceEngine e in started)
                    e.Dispose();
        }
    }

    [Fact]
    public async Task An_engine_that_cannot_start_again_ends_the_host_with_the_reason()
    {
        using TraceEngine first = ProcfsEngine();
        var options = new SidecarOptions(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromMilliseconds(200), null, "node-harden");
        var policy = new SupervisorPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), 3);
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // A real refusal: the engine is asked for a cgroup that does not exist.
        Func<TraceEngine> restart = () => TraceEngine.Start(new EngineOptions { Mode = EngineMode.Procfs, Cgroups = ["/aiops-harden-no-such-cgroup"] });
        Task host = SidecarHost.RunAsync(first, options, u => url.SetResult(u), policy: policy, restart: restart);
        using var http = new HttpClient { BaseAddress = new Uri(await url.Task.WaitAsync(TimeSpan.FromSeconds(30))), Timeout = TimeSpan.FromSeconds(5) };
        var answers = new List<string>();
        await Until(() => Ready(http, answers), TimeSpan.FromSeconds(20), () => "a first window: " + string.Join(" | ", answers.TakeLast(3)));

        first.Dispose();

        var e = await Assert.ThrowsAsync<EngineFailedException>(() => host.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("the engine failed 3 time(s) in a row", e.Message);
        Assert.Contains("cgroup '/aiops-harden-no-such-cgroup' does not exist", e.Message);
    }
}
