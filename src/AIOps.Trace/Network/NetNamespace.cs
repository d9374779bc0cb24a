using System.Runtime.InteropServices;
using static AIOps.Trace.Interop.Interop;

namespace AIOps.Trace.Network;

/// <summary>The traffic-control state of one network namespace: its interfaces, qdiscs and classes.</summary>
public sealed record TrafficControl(IReadOnlyList<NetLink> Links, IReadOnlyList<Qdisc> Qdiscs, IReadOnlyList<TrafficClass> Classes, int SkippedMessages);

/// <summary>
/// Reads a network namespace's qdisc statistics, which the kernel exports only over rtnetlink
/// (RTM_GETQDISC; there is no procfs or sysfs file for them). A netlink socket belongs to the
/// namespace it was created in, so a thread made for the purpose enters the namespace with
/// setns(2), creates the socket and ends; the dumps then run on the caller's thread, which never
/// changes namespace. setns needs CAP_SYS_ADMIN (net/core/net_namespace.c, netns_install()), even
/// into the namespace the caller is already in; so a namespace that is our own (a sidecar beside
/// its workload in one pod) gets a plain socket, and only other namespaces need the capability.
/// </summary>
public static class NetNamespace
{
    private const int ReceiveBufferSize = 64 * 1024;
    private static uint s_sequence;

    /// <summary>
    /// Dumps links, qdiscs and classes of the namespace <paramref name="nsPath"/> refers to
    /// (e.g. /proc/&lt;pid&gt;/ns/net). Null with <paramref name="error"/> saying why when the
    /// namespace cannot be entered or a dump fails; never throws for kernel errors.
    /// </summary>
    public static TrafficControl? ReadTrafficControl(string nsPath, out string? error)
    {
        int fd = OpenRouteSocket(nsPath);
        if (fd < 0)
        {
            error = $"cannot open a netlink socket in {nsPath}: {Marshal.GetPInvokeErrorMessage(-fd)}";
            return null;
        }
        try
        {
            SetReceiveTimeout(fd, seconds: 2);
            int skipped = 0;
            var links = new List<NetLink>();
            var qdiscs = new List<Qdisc>();
            var classes = new List<TrafficClass>();
            error = Dump(fd, RtNetlink.RtmGetLink, 0, RtNetlink.RtmNewLink, p => Add(RtNetlink.TryParseLink(p, out NetLink? l), l, links), ref skipped)
                ?? Dump(fd, RtNetlink.RtmGetQdisc, 0, RtNetlink.RtmNewQdisc, p => Add(RtNetlink.TryParseQdisc(p, out Qdisc? q), q, qdiscs), ref skipped);
            // A class dump covers one interface (tc_dump_tclass looks up tcm_ifindex), and only classful qdiscs have classes.
            foreach (int ifIndex in qdiscs.Where(q => q.Kind == "htb").Select(q => q.IfIndex).Distinct())
                error ??= Dump(fd, RtNetlink.RtmGetTClass, ifIndex, RtNetlink.RtmNewTClass, p => Add(RtNetlink.TryParseClass(p, out TrafficClass? c), c, classes), ref skipped);
            return error is null ? new TrafficControl(links, qdiscs, classes, skipped) : null;
        }
        finally
        {
            LibcClose(fd);
        }
    }

    /// <summary>A NETLINK_ROUTE socket bound to the namespace of <paramref name="nsPath"/>: its descriptor, or -errno.</summary>
    internal static int OpenRouteSocket(string nsPath)
    {
        if (IsOwnNamespace(nsPath))
        {
            int own = LibcSocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
            return own >= 0 ? own : -Marshal.GetLastPInvokeError();
        }
        int result = 0;
        // The thread ends after the call, so its namespace never leaks into other work.
        var thread = new Thread(() =>
        {
            int ns = LibcOpen(nsPath, O_RDONLY | O_CLOEXEC);
            if (ns < 0)
            {
                result = -Marshal.GetLastPInvokeError();
                return;
            }
            try
            {
                if (LibcSetns(ns, CLONE_NEWNET) != 0)
                {
                    result = -Marshal.GetLastPInvokeError();
                    return;
                }
                int fd = LibcSocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
                result = fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
            }
            finally
            {
                LibcClose(ns);
            }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "aiops-netns" };
        thread.Start();
        thread.Join();
        return result;
    }

    /// <summary>Whether <paramref name="nsPath"/> names this process's network namespace ("net:[inode]" is the same from any PID namespace).</summary>
    private static bool IsOwnNamespace(string nsPath)
    {
        try
        {
            string? target = new FileInfo(nsPath).LinkTarget;
            return target is not null && target == new FileInfo("/proc/self/ns/net").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool Add<T>(bool parsed, T? item, List<T> into) where T : class
    {
        if (parsed && item is not null)
            into.Add(item);
        return parsed;
    }

    /// <summary>Sends one dump request and reads its reply to the end: null, or what went wrong.</summary>
    private static unsafe string? Dump(int fd, ushort request, int ifIndex, ushort reply, Func<byte[], bool> onMessage, ref int skipped)
    {
        byte[] message = RtNetlink.DumpRequest(request, Interlocked.Increment(ref s_sequence), ifIndex);
        fixed (byte* p = message)
            if (LibcSend(fd, p, message.Length, 0) != message.Length)
                return $"netlink request {request} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";

        byte[] buffer = new byte[ReceiveBufferSize];
        while (true)
        {
            nint received;
            fixed (byte* p = buffer)
                received = LibcRecv(fd, p, buffer.Length, 0);
            if (received < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == 4) // EINTR
                    continue;
                return $"netlink reply to {request} failed: {Marshal.GetPInvokeErrorMessage(errno)}";
            }
            switch (RtNetlink.ReadDatagram(buffer.AsSpan(0, (int)received), reply, onMessage, ref skipped, out int error))
            {
                case DumpStatus.Done:
                    return null;
                case DumpStatus.Error:
                    return $"netlink dump {request} refused: {Marshal.GetPInvokeErrorMessage(error)}";
                case DumpStatus.Malformed:
                    return $"netlink reply to {request} is malformed";
            }
        }
    }

    private static unsafe void SetReceiveTimeout(int fd, int seconds)
    {
        // struct timeval { long tv_sec; long tv_usec; }: a reply that never comes must not hang a window.
        long* timeval = stackalloc long[2] { seconds, 0 };
        LibcSetsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16);
    }
}
