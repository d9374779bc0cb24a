using System.Diagnostics;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// A real network situation whose outcome is known: the container's workload sends TCP traffic
/// (iperf3) from its own network namespace to a peer namespace over a veth pair, with a shaping
/// qdisc on its interface or loss on the path beyond it. Each run builds it fresh.
/// </summary>
/// <param name="Arrange">Shapes the container's interface or the path, before traffic starts.</param>
/// <param name="Workload">The container's command; one that does not enter the lab's namespace stays in the host's.</param>
public sealed record NetworkScenario(string Name, string Expected, Action<NetworkLab> Arrange, Func<NetworkLab, string> Workload)
{
    /// <summary>One scenario per network outcome this kernel produces, and the one it must refuse to guess.</summary>
    public static readonly IReadOnlyList<NetworkScenario> All =
    [
        new("tbf-4mbit-under-20mbit-of-traffic", Outcomes.BandwidthLimited,
            lab => lab.InContainer($"tc qdisc add dev {lab.ContainerInterface} root tbf rate 4mbit burst 16kb latency 50ms"),
            lab => lab.Send(megabitsPerSecond: 20)),
        new("5pct-loss-on-the-path", Outcomes.Contention,
            // The peer drops 5% of the data segments it receives: loss past the container's interface, as on a
            // congested path. (netem would be the usual tool, but this kernel lacks it, and its drops would land
            // in the container's own qdisc, where they mean a bandwidth limit.)
            lab => lab.DropAtPeer(percent: 5),
            lab => lab.Send(megabitsPerSecond: 20)),
        new("light-traffic-no-shaping", Outcomes.NotLimited, _ => { }, lab => lab.Send(megabitsPerSecond: 1)),
        new("host-network-namespace", Outcomes.Undecidable, _ => { }, _ => "sleep 60"),
    ];
}

/// <summary>
/// Two network namespaces joined by a veth pair: the container's (aiops-test-*-c, address
/// 192.168.247.1/30) and its peer's (aiops-test-*-p, 192.168.247.2/30, running an iperf3
/// server). The /30 exists only inside these namespaces, so nothing reaches the host's network.
/// Dispose kills what runs in them and deletes both (with their veths, qdiscs and rules), even
/// after a failure.
/// </summary>
public sealed class NetworkLab : IDisposable
{
    public const string Prefix = "aiops-test-";
    private const string ContainerAddress = "192.168.247.1", PeerAddress = "192.168.247.2";

    private readonly List<Process> _processes = new();
    private readonly List<string> _namespaces = new();

    private NetworkLab(string id)
    {
        ContainerNamespace = $"{Prefix}{id}-c";
        PeerNamespace = $"{Prefix}{id}-p";
        // Interface names are at most 15 bytes (IFNAMSIZ - 1).
        ContainerInterface = $"{Prefix}{id[..3]}c";
        PeerInterface = $"{Prefix}{id[..3]}p";
    }

    public string ContainerNamespace { get; }
    public string PeerNamespace { get; }
    public string ContainerInterface { get; }
    public string PeerInterface { get; }

    public static NetworkLab Create()
    {
        var lab = new NetworkLab(Guid.NewGuid().ToString("N")[..6]);
        try
        {
            foreach (string ns in new[] { lab.ContainerNamespace, lab.PeerNamespace })
            {
                Ip($"netns add {ns}");
                lab._namespaces.Add(ns);
                Ip($"-n {ns} link set lo up");
            }
            Ip($"link add {lab.ContainerInterface} netns {lab.ContainerNamespace} type veth peer name {lab.PeerInterface} netns {lab.PeerNamespace}");
            Ip($"-n {lab.ContainerNamespace} addr add {ContainerAddress}/30 dev {lab.ContainerInterface}");
            Ip($"-n {lab.PeerNamespace} addr add {PeerAddress}/30 dev {lab.PeerInterface}");
            // One segment per packet, as on a real wire: a veth passes whole 64 KiB GSO packets, so a
            // dropped packet would lose dozens of segments at once and the loss come in few, large bursts.
            Ip($"-n {lab.ContainerNamespace} link set {lab.ContainerInterface} gso_max_segs 1");
            Ip($"-n {lab.ContainerNamespace} link set {lab.ContainerInterface} up");
            Ip($"-n {lab.PeerNamespace} link set {lab.PeerInterface} up");
            lab._processes.Add(Process.Start(new ProcessStartInfo("ip", $"netns exec {lab.PeerNamespace} iperf3 -s -B {PeerAddress}")
                { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!);
            lab.WaitForServer();
        }
        catch
        {
            lab.Dispose();
            throw;
        }
        return lab;
    }

    /// <summary>A command (e.g. tc) inside the container's namespace.</summary>
    public void InContainer(string command) => BpfState.Run("ip", $"netns exec {ContainerNamespace} {command}");

    /// <summary>The peer drops this share of the container's data segments (nftables, in the peer's namespace only); a second call replaces the share.</summary>
    public void DropAtPeer(int percent)
    {
        Nft("add table ip aiops_test");
        Nft("add chain ip aiops_test in \"{ type filter hook input priority 0; }\"");
        Nft("flush chain ip aiops_test in");
        // Full-sized segments only: a lost SYN or control message would stall iperf3 for a second instead.
        Nft($"add rule ip aiops_test in ip saddr {ContainerAddress} meta length gt 1000 numgen random mod 100 lt {percent} drop");
    }

    /// <summary>The peer stops dropping (the rules of <see cref="DropAtPeer"/> removed).</summary>
    public void StopDropping() => Nft("delete table ip aiops_test");

    /// <summary>The container's workload: TCP to the peer at this application rate, inside the container's namespace.</summary>
    public string Send(int megabitsPerSecond) => $"ip netns exec {ContainerNamespace} {Client(megabitsPerSecond, seconds: 60)}";

    /// <summary>The iperf3 client alone, for a workload already inside the container's namespace.</summary>
    public string Client(int megabitsPerSecond, int seconds) => $"iperf3 -c {PeerAddress} -t {seconds} -b {megabitsPerSecond}M";

    /// <summary>Namespaces of ours that still exist (leaks from this or an earlier run).</summary>
    public static IReadOnlyList<string> Leftovers() =>
        Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", Prefix + "*") : [];

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
            p.Dispose();
        }
        foreach (string ns in _namespaces)
        {
            // Anything still inside (a workload that outlived its cgroup's cleanup) would keep the namespace alive.
            foreach (string pid in TryRun("ip", $"netns pids {ns}").Split('\n', StringSplitOptions.RemoveEmptyEntries))
                try { Process.GetProcessById(int.Parse(pid)).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            TryRun("ip", $"netns del {ns}");
        }
    }

    private void WaitForServer()
    {
        var waited = Stopwatch.StartNew();
        while (!BpfState.Run("ip", $"netns exec {PeerNamespace} ss -Hltn sport = :5201").Contains("5201", StringComparison.Ordinal))
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"iperf3 server in {PeerNamespace} did not listen within 10 s");
            Thread.Sleep(50);
        }
    }

    private void Nft(string args) => BpfState.Run("ip", $"netns exec {PeerNamespace} nft {args}");

    private static void Ip(string args) => BpfState.Run("ip", args);

    private static string TryRun(string file, string args)
    {
        try
        {
            return BpfState.Run(file, args);
        }
        catch (InvalidOperationException)
        {
            return "";
        }
    }
}
