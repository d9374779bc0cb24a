using System.Net;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server;
using AIOps.Trace.Tests.Unit;
using AIOps.Trace.Tests.Unit.Serve;
using Microsoft.Playwright;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The dashboard of an analysis-only host (no engine, no /api/v1/containers) in headless Chromium:
/// it asks for the token, shows the verdicts panel with hostile container keys as text, and the
/// confirm button stores a label. Needs no kernel feature, only Debian's chromium.
/// </summary>
public sealed class AnalysisDashboardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aiops-analysis-dash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_verdicts_panel_works_without_an_engine_and_shows_hostile_keys_as_text()
    {
        Assert.True(File.Exists(HeadlessChromium.Path), "the dashboard test needs Debian's chromium (build.sh installs it)");
        const string KeyFormat = "node-{0}/x\"<img src=x onerror=alert(1)>/web-{1}";
        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        using VerdictStore store = VerdictStore.Open(Path.Combine(_dir, "verdicts.db"));
        using var pipeline = new AnalysisPipeline(new PipelineOptions(), store);
        var options = new SidecarOptions(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromMilliseconds(500), token, "cluster-a");
        using var stop = new CancellationTokenSource();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task host = SidecarHost.RunAnalysisAsync(pipeline, new FakeSource(KeyFormat), options, u => url.SetResult(u), store, stop.Token);
        try
        {
            string shots = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "screenshots");
            Directory.CreateDirectory(shots);
            using IPlaywright playwright = await Playwright.CreateAsync();
            await using IBrowser browser = await HeadlessChromium.LaunchAsync(playwright);
            IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
            var errors = new List<string>();
            var dialogs = new List<string>();
            page.PageError += (_, e) => { lock (errors) errors.Add("page error: " + e); };
            page.Console += (_, m) => { if (m.Type == "error") lock (errors) errors.Add(m.Text); };
            page.Dialog += async (_, d) => { lock (dialogs) dialogs.Add(d.Message); await d.DismissAsync(); };

            await page.GotoAsync(await url.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            await page.Locator("#token-dialog").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = 10_000 });
            await page.FillAsync("#token-input", token);
            await page.ClickAsync("#token-form button[type=submit]");

            await VerdictsPanel.CheckAsync(page, FakeSource.Key(KeyFormat, 3), FakeSource.Key(KeyFormat, 0), Path.Combine(shots, "analysis-dashboard-verdicts.png"));
            // The planted replica is abnormal (another may be too in a round: the data are random draws).
            Assert.Contains(FakeSource.Key(KeyFormat, 3), await page.Locator("#verdicts tr.member[data-status=abnormal] .who").AllTextContentsAsync());
            Assert.Equal("analysis only", await page.InnerTextAsync("#live-text"));
            Assert.True(await page.Locator("#summary").IsHiddenAsync());

            OperatorVerdict row = Assert.Single(pipeline.StoredVerdicts());
            Assert.Equal((FakeSource.Key(KeyFormat, 3), "cpu_cap"), (row.Container, row.Kind));
            lock (dialogs) Assert.Empty(dialogs);
            // Before the token the API's 401s, then the engine's absent /api/v1/containers (404): nothing else.
            lock (errors) Assert.All(errors, e => Assert.Matches(@"^Failed to load resource: .*(401|404)", e));
        }
        finally
        {
            await stop.CancelAsync();
            await host.WaitAsync(TimeSpan.FromSeconds(15));
        }
    }
}
