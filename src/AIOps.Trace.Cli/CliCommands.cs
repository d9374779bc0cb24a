using System.CommandLine;
using System.CommandLine.Parsing;

namespace AIOps.Trace.Cli;

/// <summary>
/// The command tree of aiops-trace on System.CommandLine: every command declares its options, so
/// `aiops-trace COMMAND --help` lists them, `--version` prints the version and the `[suggest]`
/// directive completes them (see <see cref="CompletionScript"/>). Values stay strings here: each
/// command checks its own (durations, addresses, paths) and says what it expected in one line.
/// </summary>
internal static class CliCommands
{
    public static RootCommand Root()
    {
        var root = new RootCommand("aiops-trace: per-container CPU scheduling (run-queue latency, preemptions, CFS throttling) from eBPF, with a diagnosis of why a container is slow.")
        {
            Snapshot(), Watch(), Diagnose(), Top(), Serve(), Doctor(), Label(), Analyze(), Completion(),
        };
        root.Options.Add(LogFormat());
        return root;
    }

    /// <summary>Options every tracing command takes (snapshot, watch, diagnose, top, serve).</summary>
    private static IEnumerable<Option> EngineOptions() =>
    [
        EachNeedsAValue(new Option<string[]>("--cgroup")
        {
            Description = "Trace only this cgroup: a path relative to the cpu hierarchy's root, e.g. /kubepods.slice/x (repeatable; default every cgroup that runs)",
            HelpName = "RELPATH",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        }),
        Choice("--attach", "How the programs attach: auto (tp_btf, else raw_tp, else tracepoint)", "auto", "tp_btf", "raw_tp", "tracepoint"),
        Choice("--transport", "How records reach user space: auto (ring buffer where the kernel has one), ringbuf or perfbuf", "auto", "ringbuf", "perfbuf"),
        Choice("--mode", "Where the figures come from: auto (eBPF, else procfs), ebpf (fails when BPF cannot load) or procfs (samples /proc, no BPF, lower resolution)", "auto", "ebpf", "procfs"),
        Choice("--throttle-hook", "The eBPF programs on throttle_cfs_rq: auto (fentry, else kprobe, else none), fentry, kprobe or none (cpu.stat alone)", "auto", "fentry", "kprobe", "none"),
        Text("--host-root", "DIR", "Where the host's / is mounted, e.g. a sidecar's /host (default /)"),
        Btf(),
    ];

    private static Option Btf() =>
        Text("--btf", "PATH", "BTF for kernels without /sys/kernel/btf/vmlinux: a BTF file, or a BTFHub archive directory (<distro>/<version>/<arch>/<uname -r>.btf[.tar.xz])");

    private static Option Json(string what) => new Option<bool>("--json") { Description = what };

    private static Command Snapshot() => With(new Command("snapshot", "Trace for a window and print one document (a table, or JSON)")
    {
        Text("--duration", "DURATION", "How long the window lasts, e.g. 500ms, 5s, 2m (default 5s; Ctrl-C ends it early)"),
        Json("Print the window as JSON"),
    }, EngineOptions(), SnapshotCommand.Run);

    private static Command Watch() => With(new Command("watch", "Print a line per container every interval until Ctrl-C")
    {
        Text("--interval", "DURATION", "Window length (default 1s)"),
    }, EngineOptions(), WatchCommand.Run);

    private static Command Diagnose() => With(new Command("diagnose", "Trace a window, then say per container why it is slow on CPU, with the evidence")
    {
        Text("--duration", "DURATION", "How long the window lasts (default 10s)"),
        Text("--container", "NAME|PATH", "Diagnose only this container: its cgroup path, name or last path segment"),
        Json("Print the diagnoses as JSON"),
    }, EngineOptions(), DiagnoseCommand.Run);

    private static Command Top() => With(new Command("top", "A live table of every container, longest p99 run-queue latency first, until Ctrl-C")
    {
        Text("--interval", "DURATION", "Window length (default 1s)"),
        new Option<bool>("--once") { Description = "One table, then exit (also when stdout is not a terminal)" },
        Text("--rows", "N", "At most this many rows (default 40)"),
        Text("--sort", "p99|severity", "Row order: p99 (longest p99 run-queue latency first, the default) or severity (the diagnosis' worst first)", "p99", "severity"),
    }, EngineOptions(), TopCommand.Run);

    private static Command Serve() => With(new Command("serve", "The sidecar: Prometheus /metrics, JSON API, live stream and dashboard, until SIGTERM or Ctrl-C")
    {
        Text("--listen", "HOST:PORT", $"Address to serve (default {ServeCommand.DefaultListen}; any but loopback needs --token-file)"),
        Text("--interval", "DURATION", "Window length: how often metrics are updated and a frame pushed (default 1s)"),
        Text("--probe-interval", "DURATION", "How often each container's memory, disk and network counters and CPU limits are read, each container in its own phase; windows between repeat its last reading's verdicts (default 5s; at most --interval reads every window)"),
        Text("--token-file", "FILE", "A bearer token clients must send (one line, at least 16 characters)"),
        Text("--node", "NAME", "The node label (default $NODE_NAME, else the host name)"),
        Domains(),
        Text("--verdict-db", "PATH", $"Where operators' labels are kept (default {LabelCommand.DefaultDb})"),
        Text("--runqueue-buckets", "coarse|full|none", "Run-queue buckets per container on /metrics, the series budget (default coarse; the API and stream keep all)", "coarse", "full", "none"),
    }, [.. EngineOptions(), .. Exposure()], ServeCommand.Run);

    /// <summary>How a serving command (serve, analyze) is reached: TLS, Host headers, connections per client.</summary>
    private static IEnumerable<Option> Exposure() =>
    [
        Text("--tls-cert", "PEM", "Serve HTTPS with this certificate (with --tls-key)"),
        Text("--tls-key", "PEM", "The certificate's private key (readable by its owner only)"),
        Text("--allowed-hosts", "NAME,...", "Host header values served, comma-separated, * for any (default: loopback names on a loopback address, any otherwise)"),
        Text("--connections-per-client", "N", $"Connections one client address may hold open at once (default {AIOps.Trace.Server.SidecarOptions.DefaultConnectionsPerClient})"),
    ];

    private static Option Domains() =>
        Text("--domains", "GROUPING", "How containers are grouped into monitoring domains: owner, image, runtime, qos, node, label:KEY or environment (default owner)",
            "owner", "image", "runtime", "qos", "node", "label:", "environment");

    private static Command Doctor() => With(new Command("doctor", "What this kernel and process allow, and the tier snapshot would use")
    {
        Json("Print the findings as one JSON object"),
        Btf(),
    }, [], DoctorCommand.Run);

    private static Command Label()
    {
        var command = new Command("label", "Store an operator's verdict on a container for the anomaly detection (without a metric vector: a sidecar learns only from labels POSTed to it)")
        {
            new Argument<string>("CONTAINER") { Description = "The container's key (cgroup path) or id", Arity = ArgumentArity.ZeroOrOne },
            new Option<bool>("--abnormal") { Description = "The container is abnormal" },
            new Option<bool>("--normal") { Description = "The container is normal" },
            Text("--kind", "KIND", "The anomaly kind, with --abnormal: letters, digits, '_', '-' or '.', e.g. cpu_cap"),
            Text("--domain", "DOMAIN", "The monitoring domain the verdict belongs to"),
            Text("--db", "PATH", $"The verdict database (default {LabelCommand.DefaultDb})"),
        };
        return With(command, [], LabelCommand.Run);
    }

    private static Command Analyze() => With(new Command("analyze", "Cluster mode: anomaly verdicts over every node's containers, read from the Prometheus that scrapes the sidecars; exit 1 when Prometheus cannot be read")
    {
        Text("--prometheus", "URL", "The Prometheus server that scrapes the sidecars, e.g. http://prometheus:9090 (required)"),
        Text("--window", "DURATION", "How far back each round reads (default 1m)"),
        Domains(),
        new Option<bool>("--once") { Description = "One round: print the verdicts and exit" },
        Json("With --once: print the round as JSON"),
        Text("--prometheus-token-file", "FILE", "A bearer token for Prometheus"),
        Text("--listen", "HOST:PORT", $"Address to serve the verdicts (default {AnalyzeCommand.DefaultListen})"),
        Text("--interval", "DURATION", "How often a round runs (default 15s)"),
        Text("--token-file", "FILE", "A bearer token clients must send"),
        Text("--verdict-db", "PATH", $"Where operators' labels are kept (default {AnalyzeCommand.DefaultDb})"),
    }, Exposure(), AnalyzeCommand.Run);

    private static Command Completion()
    {
        var shell = new Argument<string>("SHELL") { Description = "The shell: bash" };
        shell.CompletionSources.Add("bash");
        var command = new Command("completion", "Print a shell completion script, e.g. source <(aiops-trace completion bash)") { shell };
        command.SetAction(r => CompletionScript.Write(r.GetValue(shell) ?? "", Console.Out));
        return command;
    }

    private static Option<string[]> LogFormat()
    {
        Option<string[]> option = Text("--log-format", "text|json",
            "How messages (status lines, warnings, errors once the command runs) are written: text (default) or json (one JSON object a line on stderr)",
            "text", "json");
        option.Recursive = true;
        return option;
    }

    /// <summary>
    /// A string option; <paramref name="completions"/> are offered by the shell, the command checks
    /// the value. Given more than once, the last one counts (as a script that overrides a default expects).
    /// </summary>
    private static Option<string[]> Text(string name, string helpName, string description, params string[] completions)
    {
        var option = new Option<string[]>(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        if (completions.Length > 0)
            option.CompletionSources.Add(completions);
        return EachNeedsAValue(option);
    }

    // Every occurrence takes one value: "--cgroup /a --cgroup" is missing one, though the option holds one.
    private static Option<string[]> EachNeedsAValue(Option<string[]> option)
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count < r.IdentifierTokenCount)
                r.AddError($"{option.Name} needs a value");
        });
        return option;
    }

    private static Option<string[]> Choice(string name, string description, params string[] values) =>
        Text(name, string.Join('|', values), description, values);

    private static Command With(Command command, IEnumerable<Option> shared, Func<Arguments, int> run)
    {
        foreach (Option o in shared)
            command.Options.Add(o);
        command.SetAction(r => run(new Arguments(r)));
        return command;
    }

    /// <summary>
    /// The one line a parse error becomes, in the words the commands use: "unknown option --x",
    /// "--duration needs a value", "unknown command 'x': expected ...".
    /// </summary>
    public static string Describe(ParseResult result)
    {
        if (result.UnmatchedTokens.Count > 0)
        {
            string token = result.UnmatchedTokens[0];
            if (result.CommandResult.Command is RootCommand root && !token.StartsWith('-'))
                return $"unknown command '{token}': expected {string.Join(", ", root.Subcommands.Select(c => c.Name))} or help";
            return token.StartsWith('-') ? $"unknown option {token}" : $"unexpected argument '{token}'";
        }
        ParseError error = result.Errors[0];
        if (error.SymbolResult is OptionResult { Tokens.Count: 0 } option)
            return $"{option.IdentifierToken?.Value ?? option.Option.Name} needs a value";
        if (error.SymbolResult is CommandResult { Command: RootCommand })
            return "no command given: expected one of snapshot, watch, diagnose, top, serve, doctor, label, analyze, completion or help";
        return error.Message;
    }
}
