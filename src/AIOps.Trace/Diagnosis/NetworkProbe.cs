using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Network;

namespace AIOps.Trace.Diagnosis;

/// <summary>The root qdisc of one interface at one instant, and the shaping limit found on the interface.</summary>
/// <param name="LimitBytesPerSecond">The lowest tbf rate on the interface, else the summed ceilings of its top-level htb classes; -1 when nothing shapes it.</param>
public sealed record InterfaceQdisc(string Kind, uint Handle, uint Drops, uint Overlimits, double LimitBytesPerSecond);

/// <summary>
/// A cgroup's network counters at one instant, read in the network namespace of a task of the
/// cgroup. <see cref="Problem"/> is set when no namespace of the container's own could be read.
/// </summary>
/// <param name="Namespace">The namespace's identity, the target of /proc/&lt;pid&gt;/ns/net ("net:[4026532281]").</param>
/// <param name="Qdiscs">Root qdisc per interface name; null when netlink could not be read (<paramref name="QdiscError"/> says why).</param>
public sealed record NetworkReading(long Timestamp, string Namespace, IReadOnlyList<InterfaceCounters> Interfaces, TcpCounters? Tcp,
    IReadOnlyDictionary<string, InterfaceQdisc>? Qdiscs, string? QdiscError = null, string? Problem = null) : IResourceReading;

/// <summary>
/// The network probe. It finds the container's network namespace through a task of the cgroup
/// (cgroup.procs of the cpu hierarchy, else the unified one, then /proc/&lt;pid&gt;/ns/net under
/// the host root), reads that namespace's interface counters (/proc/&lt;pid&gt;/net/dev), TCP
/// counters (/proc/&lt;pid&gt;/net/snmp) and qdisc statistics (rtnetlink, <see cref="NetNamespace"/>),
/// and decides <see cref="NetworkDiagnosis"/> on the interface that sent the most in the window.
/// A container in the host's own namespace is undecidable: none of these counters are its own.
/// </summary>
public sealed class NetworkProbe : IResourceProbe
{
    private readonly ResourceProbeContext _context;
    private readonly NetworkThresholds? _thresholds;

    public NetworkProbe(ResourceProbeContext context, NetworkThresholds? thresholds = null)
    {
        _context = context;
        _thresholds = thresholds;
    }

    public string Resource => NetworkDiagnosis.Resource;

    /// <summary>Reads the counters; null when the cgroup or every task of it has gone. Never throws for kernel or file errors.</summary>
    public IResourceReading? Read(string cgroupPath)
    {
        CgroupMount? hierarchy = _context.Mounts.ForController("cpu") ?? _context.Mounts.Unified;
        if (hierarchy is null)
            return null;
        string? procs = TryRead(hierarchy.PathOf(cgroupPath, "cgroup.procs"));
        if (procs is null)
            return null;
        string[] pids = procs.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (pids.Length == 0)
            return new NetworkReading(Stopwatch.GetTimestamp(), "", [], null, null, Problem: "no task in the cgroup to find its network namespace from");

        string? hostNamespace = HostNamespace();
        foreach (string pid in pids)
        {
            if (!int.TryParse(pid, out _))
                continue;
            // A task may exit between the listing and these reads: then the next one is asked.
            string nsPath = ProcPath(pid, "ns/net");
            string? ns = TryReadLink(nsPath);
            if (ns is null)
                continue;
            long now = Stopwatch.GetTimestamp();
            if (ns == hostNamespace || ns == InitNetNamespace)
                return new NetworkReading(now, ns, [], null, null,
                    Problem: "the container shares the host's network namespace: its interface, qdisc and TCP counters are the whole host's, none are its own");
            string? dev = TryRead(ProcPath(pid, "net/dev"));
            string? snmp = TryRead(ProcPath(pid, "net/snmp"));
            if (dev is null || TryReadLink(nsPath) != ns)
                continue;
            IReadOnlyList<InterfaceCounters> interfaces = NetText.ParseNetDev(dev, out _);
            TrafficControl? tc = NetNamespace.ReadTrafficControl(nsPath, out string? error);
            return new NetworkReading(now, ns, interfaces, snmp is null ? null : NetText.ParseSnmpTcp(snmp),
                tc is null ? null : RootQdiscs(tc), error);
        }
        return null;
    }

    public ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds)
    {
        var e = (NetworkReading)end;
        var s = start as NetworkReading;
        var steps = new PathBuilder();
        if (e.Problem is not null)
            return steps.Undecidable(Resource, e.Problem);
        if (s is null)
            return steps.Undecidable(Resource, "no reading at the window's start (the container appeared during the window)");
        if (s.Problem is not null || s.Namespace != e.Namespace)
            return steps.Undecidable(Resource, "the container's network namespace changed during the window");

        double elapsed = (double)(e.Timestamp - s.Timestamp) / Stopwatch.Frequency;
        if (elapsed <= 0)
            elapsed = seconds;
        NetworkEvidence evidence = Evidence(s, e, elapsed);
        return NetworkDiagnosis.Diagnose(evidence, _thresholds) with { Evidence = evidence };
    }

    /// <summary>The tree's evidence from two readings of the same namespace: deltas on the busiest interface.</summary>
    internal static NetworkEvidence Evidence(NetworkReading start, NetworkReading end, double seconds)
    {
        // The busiest interface is the one that sent the most in the window; lo never leaves the container.
        string name = "(no interface)";
        ulong sent = 0;
        foreach (InterfaceCounters now in end.Interfaces)
        {
            if (now.Name == "lo")
                continue;
            InterfaceCounters? before = start.Interfaces.FirstOrDefault(i => i.Name == now.Name);
            // An interface that appeared or was recreated in the window counts from zero.
            ulong delta = before is { } b && now.TxBytes >= b.TxBytes ? now.TxBytes - b.TxBytes : now.TxBytes;
            if (delta > sent || name == "(no interface)")
                (name, sent) = (now.Name, delta);
        }

        long drops = -1, overlimits = -1;
        double limit = -1;
        // Without qdisc statistics at the start (netlink failed then) the window's deltas are unknown.
        if (start.Qdiscs is not null && end.Qdiscs is not null && end.Qdiscs.TryGetValue(name, out InterfaceQdisc? q))
        {
            limit = q.LimitBytesPerSecond;
            // A qdisc added or replaced during the window started its counters at zero within it.
            InterfaceQdisc? p = start.Qdiscs.TryGetValue(name, out InterfaceQdisc? old) && old.Kind == q.Kind && old.Handle == q.Handle ? old : null;
            // The kernel's queue counters are 32-bit: unchecked subtraction is the delta across a wrap.
            drops = unchecked(q.Drops - (p?.Drops ?? 0));
            overlimits = unchecked(q.Overlimits - (p?.Overlimits ?? 0));
        }

        long retrans = -1, outSegs = -1;
        if (start.Tcp is { } t0 && end.Tcp is { } t1 && t1.OutSegs >= t0.OutSegs && t1.RetransSegs >= t0.RetransSegs)
            (retrans, outSegs) = ((long)(t1.RetransSegs - t0.RetransSegs), (long)(t1.OutSegs - t0.OutSegs));

        return new NetworkEvidence
        {
            Interface = name,
            QdiscDrops = drops,
            QdiscOverlimits = overlimits,
            TxBytesPerSecond = seconds > 0 ? sent / seconds : 0,
            LimitBytesPerSecond = limit,
            RetransSegs = retrans,
            OutSegs = outSegs,
        };
    }

    /// <summary>Each interface's root qdisc (its counters include the children's, as tc -s shows) and its shaping limit.</summary>
    internal static IReadOnlyDictionary<string, InterfaceQdisc> RootQdiscs(TrafficControl tc)
    {
        var byName = new Dictionary<string, InterfaceQdisc>(StringComparer.Ordinal);
        foreach (NetLink link in tc.Links)
        {
            Qdisc? root = tc.Qdiscs.FirstOrDefault(q => q.IfIndex == link.Index && q.Parent == RtNetlink.TcHRoot);
            if (root is null)
                continue;
            ulong tbf = tc.Qdiscs.Where(q => q.IfIndex == link.Index && q.RateBytesPerSecond > 0).Select(q => q.RateBytesPerSecond).DefaultIfEmpty(0UL).Min();
            ulong htb = (ulong)tc.Classes.Where(c => c.IfIndex == link.Index && c.Parent == RtNetlink.TcHRoot)
                .Sum(c => (decimal)c.CeilBytesPerSecond);
            double limit = tbf > 0 ? tbf : htb > 0 ? htb : -1;
            byName[link.Name] = new InterfaceQdisc(root.Kind, root.Handle, root.Drops, root.Overlimits, limit);
        }
        return byName;
    }

    /// <summary>
    /// The initial network namespace as /proc shows it on kernels that number it statically
    /// (include/linux/proc_ns.h, PROC_NET_INIT_INO = 0xEFFFFFF9, 6.18 here). Dynamically numbered
    /// namespaces start at 0xF0000000 (PROC_DYNAMIC_FIRST), so no other namespace has this number.
    /// </summary>
    internal const string InitNetNamespace = "net:[4026531833]";

    /// <summary>
    /// The host's namespace: init's, else, on the host itself (host root "/"), our own. Init's
    /// ns link can be unreadable even to root (a ptrace access check, e.g. under a sandboxing init).
    /// </summary>
    private string? HostNamespace() =>
        TryReadLink(ProcPath("1", "ns/net"))
        ?? (_context.HostRoot.Trim('/').Length == 0 ? TryReadLink("/proc/self/ns/net") : null);

    private string ProcPath(string pid, string file) => Path.Join(_context.HostRoot, "proc", pid, file);

    private static string? TryRead(string path)
    {
        try
        {
            return Cgroups.KernelText.Read(path);
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? TryReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
