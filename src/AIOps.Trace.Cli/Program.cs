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

    private const string Usage = """
        usage: aiops-trace <command> [options]

        commands:
          snapshot   trace for a window and print one document
                     --duration 5s  --json  --cgroup RELPATH (repeatable)  --attach auto|tp_btf|raw_tp|tracepoint
                     --transport auto|ringbuf|perfbuf  --mode auto|ebpf|procfs  --throttle-hook auto|fentry|kprobe|none
          watch      print a line per container every interval until Ctrl-C
                     --interval 1s  --cgroup RELPATH (repeatable)  --attach auto|tp_btf|raw_tp|tracepoint
                     --transport auto|ringbuf|perfbuf  --mode auto|ebpf|procfs  --throttle-hook auto|fentry|kprobe|none
          diagnose   trace a window, then say per container why it is slow on CPU, with the evidence
                     --duration 10s  --container NAME|PATH  --json  (and the snapshot options)
          serve      the sidecar: Prometheus /metrics, JSON API, live stream, until SIGTERM or Ctrl-C
                     --listen 127.0.0.1:9464  --interval 1s  --token-file FILE (required off loopback)
                     --node NAME  --domains owner|image|runtime|qos|node|label:KEY|environment (default owner)
                     --verdict-db PATH (default /var/lib/aiops-trace/verdicts.db)  (and the watch options)
                     --runqueue-buckets coarse|full|none: run-queue buckets per container on /metrics (default coarse)
                     --tls-cert PEM --tls-key PEM (HTTPS)  --allowed-hosts NAME,... (Host headers served; loopback names by default on loopback)  --connections-per-client 32
          top        a live table of every container, longest p99 run-queue latency first, until Ctrl-C
                     --interval 1s  --once (one table, then exit; also when stdout is not a terminal)  --rows 40
                     (and --cgroup, --attach, --transport, --mode, --throttle-hook as for watch)
          doctor     what this kernel and process allow, and the tier snapshot would use
                     --json  --btf PATH
          label      store an operator's verdict on a container for the anomaly detection
                     CONTAINER --abnormal|--normal  --kind K  --domain D  --db PATH (default /var/lib/aiops-trace/verdicts.db)
                     (stored without a metric vector: a sidecar learns only from labels POSTed to it)
          analyze    cluster mode: anomaly verdicts over every node's containers, read from the Prometheus that
                     scrapes the sidecars; exit 1 when Prometheus cannot be read
                     --prometheus URL (required)  --window 1m  --domains owner|image|runtime|qos|node|label:KEY|environment
                     --once (one round, print the verdicts, exit)  --json  --prometheus-token-file FILE
                     --listen HOST:PORT  --interval 15s  --token-file FILE  --verdict-db PATH
          help       this text

        --mode: ebpf (fails when BPF cannot load), procfs (samples /proc, no BPF, lower
        resolution) or auto (eBPF, else procfs; the default)
        --throttle-hook: the eBPF programs on throttle_cfs_rq: fentry, kprobe (fail when the kernel refuses
        that hook), none (cpu.stat alone) or auto (fentry, else kprobe, else none; the default)
        --host-root DIR (snapshot, watch, top, diagnose, serve): where the host's / is mounted, e.g. a sidecar's /host
        --btf PATH (snapshot, watch, top, diagnose, serve, doctor): BTF for kernels without /sys/kernel/btf/vmlinux: a BTF
        file, or a BTFHub archive directory (<distro>/<version>/<arch>/<uname -r>.btf[.tar.xz])
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }
        try
        {
            return args[0] switch
            {
                "snapshot" => SnapshotCommand.Run(new Arguments(args[1..], SnapshotCommand.Flags)),
                "watch" => WatchCommand.Run(new Arguments(args[1..], WatchCommand.Flags)),
                "doctor" => DoctorCommand.Run(new Arguments(args[1..], DoctorCommand.Flags)),
                "diagnose" => DiagnoseCommand.Run(new Arguments(args[1..], DiagnoseCommand.Flags)),
                "serve" => ServeCommand.Run(new Arguments(args[1..], ServeCommand.Flags)),
                "top" => TopCommand.Run(new Arguments(args[1..], TopCommand.Flags)),
                "label" => LabelCommand.Run(args[1..]),
                "analyze" => AnalyzeCommand.Run(new Arguments(args[1..], AnalyzeCommand.Flags)),
                _ => throw new UsageException($"unknown command '{args[0]}': expected snapshot, watch, diagnose, top, serve, doctor, label, analyze or help"),
            };
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
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return Fail(e.Message);
        }
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine("aiops-trace: " + message.ReplaceLineEndings(" "));
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
        // A sidecar sees the host's filesystem under a mount (e.g. /host): /proc, the cgroup
        // mounts, the kubelet's pod logs and the runtimes' state are read under it.
        string hostRoot = a.Value("host-root") ?? "/";
        if (!Directory.Exists(hostRoot))
            throw new UsageException($"--host-root '{hostRoot}' is not a directory: expected where the host's / is mounted, e.g. /host");
        // A bad --btf is bad input whatever the mode picks later: say so now, in one line.
        if (a.Value("btf") is string btf)
            BtfFile.Resolve(btf, KernelInfo.Release).Dispose();
        return new EngineOptions
        {
            Mode = mode,
            Tracer = new TracerOptions { Attach = attach, Transport = transport, ThrottleHook = throttleHook, BtfPath = a.Value("btf") },
            Cgroups = cgroups.Count == 0 ? null : cgroups,
            HostRoot = hostRoot,
        };
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
            Console.Error.WriteLine($"aiops-trace: {why}; sampling procfs instead (lower resolution)");
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
