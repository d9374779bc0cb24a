using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>
/// `aiops-trace serve` as a separate process on a free loopback port, as users run it. Dispose
/// stops it with SIGTERM (SIGKILL only if it does not stop within 15 s).
/// </summary>
public sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string? _scratch;

    private ServeProcess(Process process) => _process = process;

    public Uri Url { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public int Pid => _process.Id;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Starts serve with <paramref name="args"/> (the default --listen 127.0.0.1:0 unless given) and waits until it listens and is ready.</summary>
    public static ServeProcess Start(string? token = null, params string[] args) => StartCommand("serve", token, args);

    /// <summary>The same for another serving command, e.g. `analyze --prometheus URL` (it prints "serving URL" the same way).</summary>
    public static ServeProcess StartCommand(string command, string? token, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "aiops-trace.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add(command);
        if (!args.Contains("--listen"))
        {
            psi.ArgumentList.Add("--listen");
            psi.ArgumentList.Add("127.0.0.1:0");
        }
        // Never the machine's verdict database: a scratch one per serve unless the test names one.
        string? scratch = null;
        if (!args.Contains("--verdict-db"))
        {
            scratch = Directory.CreateTempSubdirectory("aiops-serve-db-").FullName;
            psi.ArgumentList.Add("--verdict-db");
            psi.ArgumentList.Add(Path.Combine(scratch, "verdicts.db"));
        }
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        var serve = new ServeProcess(Process.Start(psi)!) { _scratch = scratch };
        serve._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (serve._stdout)
                serve._stdout.AppendLine(e.Data);
            int at = e.Data.IndexOf("serving http://", StringComparison.Ordinal);
            if (at >= 0)
                serve._url.TrySetResult(e.Data[(at + "serving ".Length)..].Split(' ')[0]);
        };
        serve._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (serve._stderr)
                    serve._stderr.AppendLine(e.Data);
        };
        serve._process.BeginOutputReadLine();
        serve._process.BeginErrorReadLine();
        try
        {
            if (!serve._url.Task.Wait(TimeSpan.FromSeconds(60)))
                throw new TimeoutException($"serve printed no URL in 60 s; stdout: {serve.Stdout} stderr: {serve.Stderr}");
            serve.Url = new Uri(serve._url.Task.Result);
            serve.Http = new HttpClient { BaseAddress = serve.Url, Timeout = TimeSpan.FromSeconds(30) };
            if (token is not null)
                serve.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            serve.WaitReady();
        }
        catch
        {
            serve.Dispose();
            throw;
        }
        return serve;
    }

    private void WaitReady()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            using HttpResponseMessage r = Http.GetAsync("readyz").GetAwaiter().GetResult();
            if (r.IsSuccessStatusCode)
                return;
            Thread.Sleep(100);
        }
        throw new TimeoutException("serve did not become ready in 30 s: " + Stderr);
    }

    public string Get(string path)
    {
        using HttpResponseMessage r = Http.GetAsync(path).GetAwaiter().GetResult();
        string body = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        Assert.True(r.IsSuccessStatusCode, $"GET {path}: {(int)r.StatusCode} {body}");
        return body;
    }

    public JsonDocument GetJson(string path) => JsonDocument.Parse(Get(path));

    /// <summary>Waits up to 10 s until stdout holds <paramref name="text"/>; fails with both streams otherwise.</summary>
    public void WaitForStdout(string text)
    {
        var deadline = Stopwatch.StartNew();
        while (!Stdout.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"no '{text}' on stdout in 10 s; stdout: {Stdout} stderr: {Stderr}");
            Thread.Sleep(50);
        }
    }

    /// <summary>Waits until a window has been cut after <paramref name="seq"/>, and returns the new seq.</summary>
    public long WaitForWindowAfter(long seq, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(10)))
        {
            using JsonDocument d = GetJson("api/v1/containers");
            long now = d.RootElement.GetProperty("seq").GetInt64();
            if (now > seq)
                return now;
            Thread.Sleep(50);
        }
        throw new TimeoutException($"no window after {seq}");
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public int Terminate(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
            BpfState.Run("kill", $"-TERM {_process.Id}");
        if (!_process.WaitForExit((int)(timeout ?? TimeSpan.FromSeconds(15)).TotalMilliseconds))
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            throw new TimeoutException("serve did not stop within 15 s of SIGTERM; stderr: " + Stderr);
        }
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                Terminate();
        }
        catch (TimeoutException)
        {
        }
        Http?.Dispose();
        _process.Dispose();
        if (_scratch is not null && Directory.Exists(_scratch))
            Directory.Delete(_scratch, recursive: true);
    }
}
