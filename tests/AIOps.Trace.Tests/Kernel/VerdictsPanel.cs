using Microsoft.Playwright;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>The dashboard's verdicts panel, as both the sidecar's and the analysis-only host's dashboard tests drive it.</summary>
internal static class VerdictsPanel
{
    /// <summary>
    /// Waits for <paramref name="labelled"/> and <paramref name="hostile"/> in the panel, checks the
    /// hostile key is shown as text, then confirms <paramref name="labelled"/> as a "cpu_cap" anomaly
    /// and waits for the stored answer. The panel's screenshot goes to <paramref name="screenshot"/>.
    /// </summary>
    public static async Task CheckAsync(IPage page, string labelled, string hostile, string screenshot)
    {
        string Row(string key) => $"#verdicts tr.member[data-container=\"{key.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"]";
        // Attached, not visible: rows of domains too small to judge are on a collapsed line.
        await page.Locator(Row(labelled)).WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 20_000 });
        await page.Locator(Row(hostile)).WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 20_000 });
        Assert.Equal(hostile, await page.Locator(Row(hostile) + " .who").TextContentAsync());
        // Domains too small to judge sit on one collapsed line: open it to reach their rows.
        if (await page.Locator(Row(labelled).Replace("#verdicts ", "#lone-domains ", StringComparison.Ordinal)).CountAsync() > 0)
        {
            Assert.Contains("too few peers", await page.Locator("#lone-summary").TextContentAsync());
            await page.EvalOnSelectorAsync("#lone-domains", "d => d.open = true");
        }
        Assert.Equal(0, await page.EvalOnSelectorAllAsync<int>("#verdicts img", "els => els.length"));
        Assert.False(string.IsNullOrEmpty(await page.Locator(Row(labelled) + " .status").TextContentAsync()));
        Assert.False(string.IsNullOrEmpty(await page.Locator(Row(labelled) + " .why").TextContentAsync()));

        await page.FillAsync(Row(labelled) + " input.kind", "cpu_cap");
        await page.ClickAsync(Row(labelled) + " button.confirm");
        ILocator result = page.Locator(Row(labelled) + " .label-result");
        try
        {
            await page.WaitForFunctionAsync("sel => (document.querySelector(sel)?.textContent || '').startsWith('stored as verdict')",
                Row(labelled) + " .label-result", new PageWaitForFunctionOptions { Timeout = 10_000 });
        }
        catch (TimeoutException)
        {
            Assert.Fail("the confirm button stored nothing; the row says: " + await result.TextContentAsync());
        }
        Assert.Contains("(cpu_cap): anomaly", await result.TextContentAsync());
        await page.Locator("#verdicts").ScreenshotAsync(new LocatorScreenshotOptions { Path = screenshot });
    }
}
