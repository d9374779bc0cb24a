using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Cli;

/// <summary>
/// aiops-trace: a thin consumer of the AIOps.Trace library. Every failure the user can cause or
/// fix ends as one line on stderr and exit code 2; a stack trace would be a bug.
/// </summary>
internal static class Program
{
    internal const int ExitOk = 0, ExitUsage = 2;

    public static int Main(string[] args)
    {
        RootCommand root = CliCommands.Root();
        // `aiops-trace help [COMMAND]` is `aiops-trace [COMMAND] --help`; no command at all shows the help and fails.
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke();
            return ExitUsage;
        }
        if (args[0] == "help")
            args = [.. args[1..], "--help"];
        ParseResult parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
            return Fail(CliCommands.Describe(parsed));
        switch (new Arguments(parsed).LogFormat)
        {
            case "text":
                break;
            case "json":
                CliLog.UseJson();
                break;
            case string other:
                return Fail($"--log-format '{other}' is not known: expected text or json");
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
        }
        catch (UsageException e)
        {
            return Fail(e.Message);
        }
        catch (BpfPermissionException e)
        {
            return Fail($"{e.Message}: run as root or grant CAP_BPF and CAP_PERFMON");
        }
        catch (BpfException e)
        {
            return Fail(e.Message);
        }
        catch (BtfFileException e)
        {
            return Fail(e.Message);
        }
        catch (ArgumentException e)
        {
            // Said without .NET's " (Parameter 'x')" tail: the user never named a parameter.
            return Fail(e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return Fail(e.Message);
        }
        finally
        {
            CliLog.Flush();
        }
    }

    internal static int Fail(string message)
    {
        CliLog.Error(message);
        return ExitUsage;
    }

    /// <summary>Checks what loading BPF needs before trying, so the error names the cause.</summary>
    internal static void RequireTracingPrivileges(string? btfPath = null)
    {
        if (MissingForTracing(btfPath) is string why)
            throw new UsageException(why);
    }

    /// <summary>Why eBPF cannot load here (no BTF, no privileges), or null when it may (<see cref="TierPolicy.MissingForTracing"/>).</summary>
    private static string? MissingForTracing(string? btfPath) =>
        TierPolicy.MissingForTracing(KernelInfo.HasVmlinuxBtf, btfPath, Environment.IsPrivilegedProcess,
            Environment.IsPrivilegedProcess ? 0 : EffectiveCapabilities());

    private static ulong EffectiveCapabilities()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                return Convert.ToUInt64(line[7..].Trim(), 16);
        return 0;
    }

    internal static EngineOptions EngineOptions(Arguments a)
    {
        AttachMode attach = a.Value("attach") switch
        {
            null or "auto" => AttachMode.Auto,
            "tp_btf" => AttachMode.TpBtf,
            "raw_tp" => AttachMode.RawTp,
            "tracepoint" => AttachMode.Tracepoint,
            string other => throw new UsageException($"--attach '{other}' is not known: expected auto, tp_btf, raw_tp or tracepoint"),
        };
        TransportMode transport = a.Value("transport") switch
        {
            null or "auto" => TransportMode.Auto,
            "ringbuf" => TransportMode.RingBuf,
            "perfbuf" => TransportMode.PerfBuf,
            string other => throw new UsageException($"--transport '{other}' is not known: expected auto, ringbuf or perfbuf"),
        };
        ThrottleHook throttleHook = ParseThrottleHook(a.Value("throttle-hook"));
        EngineMode mode = a.Value("mode") switch
        {
            null or "auto" => EngineMode.Auto,
            "ebpf" => EngineMode.Ebpf,
            "procfs" => EngineMode.Procfs,
            string other => throw new UsageException($"--mode '{other}' is not known: expected auto, ebpf or procfs"),
        };
        if (mode == EngineMode.Procfs && throttleHook is ThrottleHook.Fentry or ThrottleHook.Kprobe)
            throw new UsageException($"--throttle-hook {a.Value("throttle-hook")} needs eBPF: --mode procfs loads no programs");
        IReadOnlyList<string> cgroups = a.Values("cgroup");
        foreach (string cgroup in cgroups)
            if (AIOps.Trace.EngineOptions.CgroupPathProblem(cgroup) is { } problem)
                throw new UsageException($"--cgroup '{cgroup}' {problem}");
        // A sidecar sees the host's filesystem under a mount (e.g. /host): /proc, the cgroup
        // mounts, the kubelet's pod logs and the runtimes' state are read under it.
        string hostRoot = a.Value("host-root") ?? "/";
        if (!Directory.Exists(hostRoot))
            throw new UsageException($"--host-root '{hostRoot}' is not a directory: expected where the host's / is mounted, e.g. /host");
        // A bad --btf is bad input whatever the mode picks later: say so now, in one line.
        if (a.Value("btf") is string btf)
            CheckBtf(btf);
        return new EngineOptions
        {
            Mode = mode,
            Tracer = new TracerOptions { Attach = attach, Transport = transport, ThrottleHook = throttleHook, BtfPath = a.Value("btf") },
            Cgroups = cgroups.Count == 0 ? null : cgroups,
            HostRoot = hostRoot,
        };
    }

    /// <summary>Opens the BTF a --btf names once, so a bad one is one line now, whatever the mode picks later.</summary>
    internal static void CheckBtf(string btf)
    {
        if (btf.Length == 0)
            throw new UsageException("--btf '' is empty: expected a BTF file or a BTFHub archive directory");
        BtfFile.Resolve(btf, KernelInfo.Release).Dispose();
    }

    /// <summary>The value of --throttle-hook (null: auto).</summary>
    internal static ThrottleHook ParseThrottleHook(string? value) => value switch
    {
        null or "auto" => ThrottleHook.Auto,
        "fentry" => ThrottleHook.Fentry,
        "kprobe" => ThrottleHook.Kprobe,
        "none" => ThrottleHook.None,
        string other => throw new UsageException($"--throttle-hook '{other}' is not known: expected auto, fentry, kprobe or none"),
    };

    /// <summary>Starts the engine, turning an unknown --cgroup into a usage error.</summary>
    internal static TraceEngine StartEngine(EngineOptions options)
    {
        // Only eBPF needs privileges: procfs mode reads world-readable files, and auto mode
        // without them samples procfs rather than failing.
        if (options.Mode == EngineMode.Ebpf)
            RequireTracingPrivileges(options.Tracer.BtfPath);
        else if (options.Mode == EngineMode.Auto && MissingForTracing(options.Tracer.BtfPath) is string why)
        {
            CliLog.Warning($"{why}; sampling procfs instead (lower resolution)");
            options = options with { Mode = EngineMode.Procfs };
        }
        try
        {
            TraceEngine engine = TraceEngine.Start(options);
            if (engine.SelfFilterWarning is { } warning)
                Console.Error.WriteLine($"aiops-trace: warning: {warning}");
            return engine;
        }
        catch (ArgumentException e) when (e.ParamName == "options")
        {
            throw new UsageException(e.Message[..(e.Message.IndexOf(" (Parameter", StringComparison.Ordinal) is int i and >= 0 ? i : e.Message.Length)]);
        }
    }

    /// <summary>A token cancelled by SIGINT or SIGTERM (the first one; the process then ends normally).</summary>
    internal static CancellationTokenSource CancelOnSignal(out IDisposable registrations)
    {
        var cts = new CancellationTokenSource();
        void handler(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            cts.Cancel();
        }
        var regs = new[]
        {
            PosixSignalRegistration.Create(PosixSignal.SIGINT, handler),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, handler),
        };
        registrations = new Registrations(regs);
        return cts;
    }

    private sealed class Registrations(PosixSignalRegistration[] regs) : IDisposable
    {
        public void Dispose()
        {
            foreach (PosixSignalRegistration r in regs)
                r.Dispose();
        }
    }
}
