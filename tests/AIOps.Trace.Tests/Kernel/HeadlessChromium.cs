using Microsoft.Playwright;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>Debian's chromium, headless, as the dashboard tests drive it through Playwright.</summary>
internal static class HeadlessChromium
{
    public const string Path = "/usr/bin/chromium";

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Path,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
}
