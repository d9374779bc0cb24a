using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using AIOps.Trace.Tests.Unit;
using Microsoft.Playwright;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The dashboard in headless Chromium (Debian's chromium, driven by Playwright) against a real
/// `aiops-trace serve` with a bearer token: it asks for the token, lists the test containers,
/// updates live, shows the CPU wizard path of a quota-throttled container, renders a hostile
/// container name as text, and logs no console error. Screenshots go to artifacts/screenshots/.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class DashboardTests : KernelTestBase
{
    // A cgroup directory name may hold anything but '/': this one is markup, with an onerror.
    private const string HostileRole = "<img src=x onerror=alert(1)>";

    [Fact]
    public async Task Dashboard_shows_the_containers_live_with_the_wizard_path_and_hostile_names_as_text()
    {
        Assert.True(File.Exists(HeadlessChromium.Path), "the dashboard test needs Debian's chromium (build.sh installs it)");
        TestCgroup capped = NewCgroup("dash-cap");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        Track(capped.Start(TestCgroup.BusyLoop));
        TestCgroup hostile = NewCgroup(HostileRole);
        Track(hostile.Start("sh -c 'while :; do sleep 0.01; done'"));

        string tokenDir = Directory.CreateTempSubdirectory("aiops-dash-").FullName;
        string token = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
        File.WriteAllText(Path.Combine(tokenDir, "token"), token + "\n");
        File.SetUnixFileMode(Path.Combine(tokenDir, "token"), UnixFileMode.UserRead | UnixFileMode.UserWrite); // serve refuses a token others may read
        try
        {
            string db = Path.Combine(tokenDir, "verdicts.db");
            (Process serve, string url) = StartServe("--token-file", Path.Combine(tokenDir, "token"),
                "--cgroup", capped.RelativePath, "--cgroup", hostile.RelativePath, "--verdict-db", db);
            await ProbesAnswer(url, Path.Combine(tokenDir, "token"));
            await DriveBrowser(url, token, capped, hostile);
            Stop(serve);
            // The label given with the panel's button is in the database, with the vector it judged.
            using var store = AIOps.Trace.Analysis.Verification.VerdictStore.Open(db);
            var row = Assert.Single(store.Verdicts());
            Assert.Equal((capped.RelativePath, true, "cpu_cap"), (row.Container, row.Abnormal, row.Kind));
            Assert.NotNull(row.Metrics);
        }
        finally
        {
            Directory.Delete(tokenDir, recursive: true);
        }
    }

    /// <summary>
    /// The manifests' probes work against a real server: /healthz without a token; the readiness
    /// exec command, run as the kubelet would (port and token file pointed at this server), exits 0,
    /// and fails with a wrong token.
    /// </summary>
    private static async Task ProbesAnswer(string url, string tokenFile)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        List<DeployManifestTests.Probe> probes = DeployManifestTests.Probes("daemonset.yaml").Concat(DeployManifestTests.Probes("sidecar.yaml")).ToList();
        Assert.Contains(probes, p => p.Path == "/readyz" && p.Exec is not null);
        foreach (DeployManifestTests.Probe probe in probes.Where(p => p.Exec is null))
        {
            using HttpResponseMessage r = await http.GetAsync(probe.Path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{probe.Name} {probe.Path} answered {(int)r.StatusCode}");
        }
        string port = new Uri(url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string wrongToken = tokenFile + ".wrong";
        File.WriteAllText(wrongToken, "not-the-token-0123456789\n");
        File.SetUnixFileMode(wrongToken, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        foreach (DeployManifestTests.Probe probe in probes.Where(p => p.Exec is not null))
        {
            string[] Command(string file) => probe.Exec!.Select(w => w.Replace("127.0.0.1:9464", "127.0.0.1:" + port, StringComparison.Ordinal)
                .Replace("/etc/aiops-trace/token", file, StringComparison.Ordinal)).ToArray();
            var waited = Stopwatch.StartNew();
            int code;
            while ((code = Exec(Command(tokenFile))) != 0 && waited.Elapsed < TimeSpan.FromSeconds(15))
                await Task.Delay(300);   // /readyz: 503 until the first window was cut
            Assert.True(code == 0, $"{probe.Name} ({string.Join(' ', Command(tokenFile))}) exited {code}");
            Assert.NotEqual(0, Exec(Command(wrongToken)));
        }
    }

    private static int Exec(string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in command.Skip(1))
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    private static async Task DriveBrowser(string url, string token, TestCgroup capped, TestCgroup hostile)
    {
        string shots = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(shots);

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await HeadlessChromium.LaunchAsync(playwright);
        await using IBrowserContext context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
            ColorScheme = ColorScheme.Dark,
        });
        IPage page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        var dialogs = new List<string>();
        bool tokenGiven = false;
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
                lock (consoleErrors) consoleErrors.Add((tokenGiven ? "after token: " : "before token: ") + m.Text);
        };
        page.PageError += (_, e) => { lock (consoleErrors) consoleErrors.Add("page error: " + e); };
        page.Dialog += async (_, d) => { lock (dialogs) dialogs.Add(d.Message); await d.DismissAsync(); };

        // 1. No token yet: the API answers 401 and the page asks for one.
        await page.GotoAsync(url);
        ILocator dialog = page.Locator("#token-dialog");
        await dialog.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = 10_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard-token.png") });
        tokenGiven = true;
        await page.FillAsync("#token-input", token);
        await page.ClickAsync("#token-form button[type=submit]");
        await dialog.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Hidden, Timeout = 5_000 });

        // 2. Both test containers are in the list.
        string cappedRow = $".list-spacer .list-row[data-cgroup=\"{capped.RelativePath}\"]";
        string hostileRow = $".list-spacer .list-row[data-cgroup=\"{hostile.RelativePath}\"]";
        await page.Locator(cappedRow).WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });
        await page.Locator(hostileRow).WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });
        string cappedId = await page.Locator(cappedRow).GetAttributeAsync("data-id") ?? "";

        // 3. The answer first: without scrolling, the host's answer names the capped container as
        // cap-throttled, with its throttled time and the next step.
        string answer = $"#answer li.affected[data-id=\"{cappedId}\"]";
        try
        {
            await page.WaitForFunctionAsync("sel => document.querySelector(sel)?.dataset.outcome === 'cap_throttled'", answer,
                new PageWaitForFunctionOptions { Timeout = 20_000 });
        }
        catch (TimeoutException)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard-failed.png"), FullPage = true });
            Assert.Fail("the answer does not name the capped container cap_throttled in 20 s; it says:\n" + await page.InnerTextAsync("#answer"));
        }
        Assert.Matches(@"is cap-throttled: [0-9.]+ ms/s throttled$", await page.Locator(answer + " .sentence").TextContentAsync());
        Assert.Contains("quota", await page.Locator(answer + " .next").TextContentAsync());
        Assert.Contains("held back", await page.Locator("#answer-headline").TextContentAsync());
        LocatorBoundingBoxResult? box = await page.Locator(answer).BoundingBoxAsync();
        Assert.True(box is not null && box.Y + box.Height <= 900, $"the capped container's answer is not on the first screen: {box?.Y}+{box?.Height}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard-answer.png") });

        // 4. Live: the frame sequence changes, and so does the capped container's heatmap in its detail view.
        await page.ClickAsync(answer);
        ILocator cpu = page.Locator("#wizard .wizard-resource.cpu");
        await cpu.WaitForAsync(new LocatorWaitForOptions { Timeout = 10_000 });
        string seq1 = await page.InnerTextAsync("#seq");
        string heat1 = await page.EvalOnSelectorAsync<string>("#detail canvas.heatmap", "c => c.toDataURL()");
        await page.WaitForTimeoutAsync(2500);
        string seq2 = await page.InnerTextAsync("#seq");
        string heat2 = await page.EvalOnSelectorAsync<string>("#detail canvas.heatmap", "c => c.toDataURL()");
        Assert.NotEqual(seq1, seq2);
        Assert.NotEqual(heat1, heat2);
        Assert.Matches(LiveText(), await page.InnerTextAsync("#live-text"));

        // 5. The wizard: every question with its figure, source and the branch not taken, then the action.
        await page.WaitForFunctionAsync("() => document.querySelector('#wizard .wizard-resource.cpu .outcome')?.dataset.outcome === 'cap_throttled'",
            null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        // textContent: the badge's CSS shows it upper-case, the text is the outcome itself.
        Assert.Equal("cap_throttled", await cpu.Locator(".outcome").TextContentAsync());
        Assert.Equal("cap_throttled", await page.Locator("#detail .card-head .outcome").TextContentAsync());
        ILocator firstStep = cpu.Locator("ol.steps li.step").First;
        Assert.Equal("yes", await firstStep.GetAttributeAsync("data-result"));
        string stepText = await firstStep.InnerTextAsync();
        Assert.Contains("throttled", stepText);
        Assert.Contains("threshold", stepText);
        Assert.Contains("from cpu.stat", stepText);
        Assert.Contains("not taken: no", stepText);
        Assert.StartsWith("Next step: raise its CPU quota", await cpu.Locator(".next-step").TextContentAsync());
        await page.Locator("#detail").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(shots, "dashboard-wizard.png") });

        // 6. Its network verdict is undecidable (the busy loop shares the host's namespace): the
        // reason is said once in its wizard, not once in the summary and again beside it.
        string network = await page.Locator("#wizard .wizard-resource.network").TextContentAsync() ?? "";
        const string Reason = "shares the host's network namespace";
        Assert.Contains(Reason, network);
        Assert.Equal(network.IndexOf(Reason, StringComparison.Ordinal), network.LastIndexOf(Reason, StringComparison.Ordinal));

        // 7. The hostile name is text: shown verbatim, no <img> anywhere, no dialog.
        string shownName = await page.Locator(hostileRow + " .name").TextContentAsync() ?? "";
        Assert.Contains(HostileRole, shownName);
        Assert.Equal(0, await page.EvalOnSelectorAllAsync<int>("img", "els => els.length"));

        // 8. The verdicts panel: every container under its domain, the hostile name as text, and a
        // label sent with the token by the confirm button.
        await VerdictsPanel.CheckAsync(page, capped.RelativePath, hostile.RelativePath, Path.Combine(shots, "dashboard-verdicts.png"));

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard.png"), FullPage = true });
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Light });
        await page.WaitForTimeoutAsync(1200);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard-light.png"), FullPage = true });

        lock (dialogs) Assert.Empty(dialogs);
        lock (consoleErrors)
        {
            // Before the token, the browser logs the API's 401 as a failed resource load; nothing else is allowed.
            Assert.All(consoleErrors, e => Assert.Matches(@"^before token: Failed to load resource: .*401", e));
        }
    }

    [GeneratedRegex(@"^live · \d+ frames$")]
    private static partial Regex LiveText();

    /// <summary>Starts `serve` on a free loopback port and waits for its URL line.</summary>
    private (Process Process, string Url) StartServe(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "aiops-trace.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { dll, "serve", "--listen", "127.0.0.1:0", "--interval", "1s" }.Concat(args))
            psi.ArgumentList.Add(a);
        Process p = Track(Process.Start(psi)!);
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        Task<string?> line = p.StandardOutput.ReadLineAsync();
        Assert.True(line.Wait(TimeSpan.FromSeconds(30)), "serve printed nothing in 30 s: " + stderr);
        Match m = Regex.Match(line.Result ?? "", @"serving (http://\S+)");
        Assert.True(m.Success, $"unexpected first line from serve: '{line.Result}' {stderr}");
        _ = p.StandardOutput.ReadToEndAsync();
        return (p, m.Groups[1].Value.TrimEnd('/') + "/");
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: exit 0 (the base class then checks nothing stayed loaded).</summary>
    private static void Stop(Process serve)
    {
        BpfState.Run("kill", $"-TERM {serve.Id}");
        Assert.True(serve.WaitForExit(15_000), "serve did not stop within 15 s of SIGTERM");
        Assert.Equal(0, serve.ExitCode);
    }
}
