using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using AIOps.Trace.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AIOps.Trace.Tests.Kernel.Hosting;

/// <summary>
/// The engine inside an app's own ASP.NET Core host: <c>AddAiopsTrace</c> + <c>MapAiopsTrace</c>
/// in a plain WebApplication on loopback, eBPF loaded for real, a busy cgroup traced; the sidecar's
/// endpoints, the host's health check and the Meter <c>AIOps.Trace</c> answer from the same loop.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EmbeddedHostTests : KernelTestBase
{
    [Fact]
    public async Task An_app_of_its_own_serves_the_sidecars_endpoints_health_check_and_meter()
    {
        TestCgroup busy = NewCgroup("embedded-host");
        Track(busy.Start(TestCgroup.BusyLoop));

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddAiopsTrace(o =>
        {
            o.Engine = new EngineOptions { Mode = EngineMode.Ebpf, Cgroups = [busy.RelativePath] };
            o.Interval = TimeSpan.FromMilliseconds(200);
            o.Node = "embedded-node";
        });
        await using WebApplication app = builder.Build();
        app.MapAiopsTrace();
        app.MapHealthChecks("/app-health");

        // The meter the host's factory made: the listener takes only this host's instruments.
        IMeterFactory factory = app.Services.GetRequiredService<IMeterFactory>();
        var windows = new List<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "AIOps.Trace" && ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "aiops.trace.windows")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => { lock (windows) windows.Add(value); });
        listener.Start();

        await app.StartAsync();
        try
        {
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(10) };

            string ready = "";
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                using HttpResponseMessage r = await http.GetAsync("readyz");
                ready = $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}";
                if (r.IsSuccessStatusCode)
                    break;
                Assert.True(DateTime.UtcNow < deadline, "not ready within 30 s: " + ready);
                await Task.Delay(100);
            }

            // The sidecar's document, from the engine the hosted service started with eBPF.
            using JsonDocument list = JsonDocument.Parse(await http.GetStringAsync("api/v1/containers"));
            Assert.Equal("embedded-node", list.RootElement.GetProperty("node").GetString());
            JsonElement engine = list.RootElement.GetProperty("engine");
            Assert.Equal("ebpf", engine.GetProperty("mode").GetString());
            Assert.True(engine.GetProperty("attached_programs").GetInt32() > 0);
            Assert.Contains(list.RootElement.GetProperty("containers").EnumerateArray(),
                c => c.GetProperty("cgroup").GetString() == busy.RelativePath);

            // The host's own health check reports the engine.
            using HttpResponseMessage health = await http.GetAsync("app-health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

            // Prometheus from the same loop.
            string metrics = await http.GetStringAsync("metrics");
            Assert.Contains($"aiops_trace_cfs_periods_total{{", metrics);
            Assert.Contains(busy.RelativePath, metrics);
            // The host's heap is its own: no collection between windows unless it asks for one.
            Assert.Matches(@"\naiops_trace_window_collect_seconds(\{node=""embedded-node""\})? 0\n", metrics);

            // The Meter: as many windows as the loop cut, read through a MeterListener.
            listener.RecordObservableInstruments();
            long cut = Assert.Single(windows);
            Assert.True(cut >= 1, $"the meter saw {cut} windows");
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Wrong_options_stop_the_start_with_the_property_and_what_was_expected()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddAiopsTrace(o =>
        {
            o.Interval = TimeSpan.FromMilliseconds(5);
            o.Domains = "colour";
            o.Engine = new EngineOptions { HostRoot = "/aiops-no-such-root" };
        });
        await using WebApplication app = builder.Build();
        app.MapAiopsTrace();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("AiopsTraceOptions.Interval 00:00:00.0050000 is out of range: expected 100 ms to 10 min", e.Message);
        Assert.Contains("AiopsTraceOptions.Domains 'colour' is not a grouping", e.Message);
        Assert.Contains("AiopsTraceOptions.Engine.HostRoot '/aiops-no-such-root' is not a directory", e.Message);
        Assert.Equal(3, e.Failures.Count());
    }
}
