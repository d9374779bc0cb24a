using System.Globalization;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Tests.Unit;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The answer-first dashboard in headless Chromium against <see cref="SyntheticSidecar"/>: the
/// wizard of each CPU outcome, the answer's ranking, and a page of 1,000 containers with a live
/// stream (virtualised list, sort, filter; time to the first answer, animation frame rate, long
/// tasks and JS heap written to artifacts/dashboard/scale.md). Screenshots go to artifacts/screenshots/.
/// </summary>
public sealed class DashboardWizardTests(ITestOutputHelper output)
{
    private static string Shots()
    {
        string shots = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(shots);
        return shots;
    }

    [Fact]
    public async Task Each_cpu_outcome_shows_its_wizard_and_the_answer_ranks_worst_first()
    {
        Assert.True(File.Exists(HeadlessChromium.Path), "the dashboard test needs Debian's chromium (build.sh installs it)");
        await using SyntheticSidecar server = await SyntheticSidecar.StartAsync(SyntheticSidecar.CpuCases.Length);
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await HeadlessChromium.LaunchAsync(playwright);
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var errors = new List<string>();
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };
        await page.GotoAsync(server.Url);

        // The answer: every container held back, worst first: the quota before the neighbours, the
        // look-further after them, the healthy one not at all.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#answer li.affected').length === 5", null,
            new PageWaitForFunctionOptions { Timeout = 15_000 });
        IReadOnlyList<string> ranked = await page.EvalOnSelectorAllAsync<string[]>("#answer li.affected", "els => els.map(e => e.dataset.outcome)");
        Assert.Equal(Outcomes.CapThrottled, ranked[0]);
        Assert.Equal(Outcomes.NotThrottledDigFurther, ranked[^1]);
        Assert.DoesNotContain(Outcomes.NotThrottled, ranked);
        Assert.StartsWith("5 of 6 containers are held back; worst: c-0000 is cap-throttled", await page.TextContentAsync("#answer-headline"));

        foreach ((string outcome, CpuEvidence evidence) in SyntheticSidecar.CpuCases)
        {
            ContainerViewIdentity c = Find(server, outcome);
            await page.ClickAsync($".list-spacer .list-row[data-id=\"{c.Id}\"]");
            ILocator cpu = page.Locator("#wizard .wizard-resource.cpu");
            await page.WaitForFunctionAsync("o => document.querySelector('#wizard .wizard-resource.cpu .outcome')?.dataset.outcome === o",
                outcome, new PageWaitForFunctionOptions { Timeout = 10_000 });
            ResourceDiagnosis expected = CpuDiagnosis.Diagnose(evidence with { CgroupPath = c.Cgroup });
            ILocator steps = cpu.Locator("ol.steps li.step");
            Assert.Equal(expected.Path.Count, await steps.CountAsync());
            for (int i = 0; i < expected.Path.Count; i++)
            {
                DiagnosisStep s = expected.Path[i];
                ILocator step = steps.Nth(i);
                Assert.Equal((s.Metric, s.Result ? "yes" : "no"), (await step.GetAttributeAsync("data-metric"), await step.GetAttributeAsync("data-result")));
                StepGuide g = DiagnosisGuide.Step("cpu", s.Metric)!;
                Assert.Equal("from " + g.Source, await step.Locator(".source").TextContentAsync());
                Assert.Equal($"not taken: {(s.Result ? "no" : "yes")} → {(s.Result ? g.IfNo : g.IfYes)}", await step.Locator(".not-taken").TextContentAsync());
            }
            OutcomeGuide guide = DiagnosisGuide.For("cpu", outcome);
            Assert.Equal("Next step: " + guide.NextStep, await cpu.Locator(".next-step").TextContentAsync());
            Assert.Equal("Check next: " + guide.CheckNext, await cpu.Locator(".check-next").TextContentAsync());
            await page.Locator("#detail").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(Shots(), $"wizard-{outcome}.png") });
        }
        lock (errors) Assert.Empty(errors);
    }

    [Fact]
    public async Task A_thousand_containers_stay_one_virtualised_list_that_sorts_and_filters_while_live()
    {
        const int count = 1000;
        Assert.True(File.Exists(HeadlessChromium.Path), "the dashboard test needs Debian's chromium (build.sh installs it)");
        await using SyntheticSidecar server = await SyntheticSidecar.StartAsync(count);
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await HeadlessChromium.LaunchAsync(playwright);
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var errors = new List<string>();
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };
        await page.AddInitScriptAsync("""
            window.__longTasks = [];
            new PerformanceObserver(l => { for (const e of l.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
            """);
        await page.GotoAsync(server.Url);

        // Time to the first answer: from navigation until the headline and the list's first rows are there.
        await page.WaitForFunctionAsync("() => document.getElementById('answer-headline').textContent.length > 0 && document.querySelector('.list-spacer .list-row:not([hidden])')",
            null, new PageWaitForFunctionOptions { Timeout = 30_000, PollingInterval = 10 });
        double firstAnswerMs = await page.EvaluateAsync<double>("() => performance.now()");
        int heldBack = Enumerable.Range(0, count).Count(i => SyntheticSidecar.CpuCases[i % SyntheticSidecar.CpuCases.Length].Outcome != Outcomes.NotThrottled);
        Assert.StartsWith($"{heldBack} of {count} containers are held back", await page.TextContentAsync("#answer-headline"));
        Assert.Equal(count.ToString(CultureInfo.InvariantCulture), await page.TextContentAsync("#count"));
        Assert.Equal(8, await page.Locator("#answer li.affected").CountAsync());

        // Live frames for five seconds: the animation frame rate, long tasks and frames seen.
        await page.WaitForFunctionAsync("() => /live · [1-9]/.test(document.getElementById('live-text').textContent)", null,
            new PageWaitForFunctionOptions { Timeout = 15_000 });
        string framesBefore = await page.TextContentAsync("#live-text") ?? "";
        double fps = await page.EvaluateAsync<double>("""
            () => new Promise(done => { let n = 0; const t0 = performance.now();
              const tick = () => { n++; const t = performance.now() - t0; if (t < 5000) requestAnimationFrame(tick); else done(n * 1000 / t); };
              requestAnimationFrame(tick); })
            """);
        string framesAfter = await page.TextContentAsync("#live-text") ?? "";
        Assert.NotEqual(framesBefore, framesAfter);
        double[] longTasks = await page.EvaluateAsync<double[]>("() => window.__longTasks");
        double heapMb = await page.EvaluateAsync<double>("() => performance.memory ? performance.memory.usedJSHeapSize / 1048576 : -1");

        // Virtualised: a thousand containers, a few dozen rows in the DOM.
        int rows = await page.Locator(".list-spacer .list-row:not([hidden])").CountAsync();
        Assert.InRange(rows, 10, 60);
        await page.EvalOnSelectorAsync("#list-viewport", "v => v.scrollTop = v.scrollHeight");
        await page.WaitForFunctionAsync($"() => [...document.querySelectorAll('.list-spacer .list-row:not([hidden])')].some(r => r.getAttribute('aria-rowindex') === '{count}')",
            null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        Assert.InRange(await page.Locator(".list-spacer .list-row:not([hidden])").CountAsync(), 10, 60);

        // Sort by name, ascending: c-0000 first; filter down to one.
        await page.EvalOnSelectorAsync("#list-viewport", "v => v.scrollTop = 0");
        await page.ClickAsync("#list-header [data-sort=name]");
        await page.WaitForFunctionAsync("() => document.querySelector('.list-spacer .list-row[aria-rowindex=\"1\"] .name')?.textContent === 'c-0000'",
            null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        await page.FillAsync("#filter", "c-0999");
        await page.WaitForFunctionAsync("() => document.getElementById('count').textContent === '1'", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        Assert.Equal(1, await page.Locator(".list-spacer .list-row:not([hidden])").CountAsync());
        await page.FillAsync("#filter", "");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Shots(), "dashboard-1000.png") });
        lock (errors) Assert.Empty(errors);

        string report = string.Create(CultureInfo.InvariantCulture, $"""
            # Dashboard at {count} containers ({DateTime.UtcNow:yyyy-MM-dd}, headless Chromium, synthetic sidecar, one frame a second)

            | figure | value |
            |---|---|
            | time to first answer (navigation to headline and first rows) | {firstAnswerMs:0} ms |
            | animation frames per second while live (5 s) | {fps:0.0} |
            | long tasks (> 50 ms) since load | {longTasks.Length}, longest {(longTasks.Length == 0 ? 0 : longTasks.Max()):0} ms |
            | JS heap used | {heapMb:0.0} MB |
            | list rows in the DOM | {rows} of {count} |

            """);
        string dir = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "dashboard");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "scale.md"), report);
        output.WriteLine(report);
    }

    private sealed record ContainerViewIdentity(string Id, string Cgroup);

    private static ContainerViewIdentity Find(SyntheticSidecar server, string outcome)
    {
        var c = server.Containers.First(c => c.CpuOutcome == outcome);
        return new ContainerViewIdentity(c.Id, c.Cgroup);
    }
}
