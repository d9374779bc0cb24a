using System.Buffers.Binary;
using System.Text;

namespace AIOps.Trace.Network;

/// <summary>An interface of a network namespace, from an RTM_NEWLINK message.</summary>
public sealed record NetLink(int Index, string Name);

/// <summary>
/// A queueing discipline and its statistics, from an RTM_NEWQDISC message.
/// <paramref name="Drops"/> and <paramref name="Overlimits"/> are the kernel's 32-bit
/// counters (struct gnet_stats_queue): they wrap, so deltas are taken modulo 2^32.
/// </summary>
/// <param name="Parent">TC_H_ROOT (0xFFFFFFFF) for the interface's root qdisc.</param>
/// <param name="RateBytesPerSecond">The shaping rate of a tbf qdisc; 0 when the qdisc does not shape.</param>
public sealed record Qdisc(int IfIndex, uint Handle, uint Parent, string Kind, ulong Bytes, uint Drops, uint Overlimits, ulong RateBytesPerSecond);

/// <summary>A traffic class, from an RTM_NEWTCLASS message; the ceiling of an htb class (0 for other kinds).</summary>
public sealed record TrafficClass(int IfIndex, uint Handle, uint Parent, string Kind, ulong CeilBytesPerSecond);

/// <summary>What a datagram of a dump reply said about the dump.</summary>
public enum DumpStatus
{
    /// <summary>More datagrams follow.</summary>
    More,
    /// <summary>NLMSG_DONE: the dump is complete.</summary>
    Done,
    /// <summary>NLMSG_ERROR with a non-zero errno.</summary>
    Error,
    /// <summary>A length field pointed outside the datagram: the rest of it cannot be trusted.</summary>
    Malformed,
}

/// <summary>
/// The rtnetlink messages the network probe uses: dump requests for links, qdiscs and classes
/// and the parsers of their replies (include/uapi/linux/netlink.h, rtnetlink.h, pkt_sched.h,
/// gen_stats.h). Pure: bytes in, records out, so the parsers are tested on recorded replies.
/// Everything is in host byte order, as netlink is; this code assumes little-endian hosts.
/// </summary>
internal static class RtNetlink
{
    public const ushort NlmsgError = 2, NlmsgDone = 3;
    public const ushort RtmNewLink = 16, RtmGetLink = 18, RtmNewQdisc = 36, RtmGetQdisc = 38, RtmNewTClass = 40, RtmGetTClass = 42;
    public const uint TcHRoot = 0xFFFFFFFF;

    private const ushort NlmFRequest = 0x1, NlmFDump = 0x300;
    private const int NlmsgHeaderSize = 16, IfInfoMsgSize = 16, TcMsgSize = 20;
    private const ushort AttrTypeMask = 0x3FFF; // without NLA_F_NESTED and NLA_F_NET_BYTEORDER

    private const ushort IflaIfname = 3;
    private const ushort TcaKind = 1, TcaOptions = 2, TcaStats = 3, TcaStats2 = 7;
    private const ushort TcaStatsBasic = 1, TcaStatsQueue = 3;
    private const ushort TcaTbfParms = 1, TcaTbfRate64 = 4;
    private const ushort TcaHtbParms = 1, TcaHtbCeil64 = 7;

    /// <summary>A dump request: nlmsghdr, then a zeroed ifinfomsg (links) or tcmsg (qdiscs, classes) with the family and interface.</summary>
    public static byte[] DumpRequest(ushort type, uint sequence, int ifIndex = 0)
    {
        int body = type == RtmGetLink ? IfInfoMsgSize : TcMsgSize;
        var msg = new byte[NlmsgHeaderSize + body];
        BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)msg.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(6), NlmFRequest | NlmFDump);
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(8), sequence);
        // family AF_UNSPEC (0); ifindex at offset 4 of both ifinfomsg and tcmsg.
        BinaryPrimitives.WriteInt32LittleEndian(msg.AsSpan(NlmsgHeaderSize + 4), ifIndex);
        return msg;
    }

    /// <summary>
    /// Walks one datagram of a dump reply and hands each message of <paramref name="type"/> to
    /// <paramref name="onMessage"/> (its payload after nlmsghdr). Messages whose own payload does
    /// not parse are counted in <paramref name="skipped"/>; <paramref name="errno"/> is set on
    /// <see cref="DumpStatus.Error"/>.
    /// </summary>
    public static DumpStatus ReadDatagram(ReadOnlySpan<byte> datagram, ushort type, Func<byte[], bool> onMessage, ref int skipped, out int errno)
    {
        errno = 0;
        while (datagram.Length >= NlmsgHeaderSize)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            ushort msgType = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            if (length < NlmsgHeaderSize || length > datagram.Length)
                return DumpStatus.Malformed;
            ReadOnlySpan<byte> payload = datagram[NlmsgHeaderSize..(int)length];
            switch (msgType)
            {
                case NlmsgDone:
                    return DumpStatus.Done;
                case NlmsgError:
                    // struct nlmsgerr: int error (negative errno, 0 for an acknowledgement), then the request's header.
                    int error = payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload) : -1;
                    if (error != 0)
                    {
                        errno = -error;
                        return DumpStatus.Error;
                    }
                    break;
                default:
                    if (msgType == type && !onMessage(payload.ToArray()))
                        skipped++;
                    break;
            }
            datagram = datagram[Math.Min(Align(length), datagram.Length)..];
        }
        return datagram.IsEmpty ? DumpStatus.More : DumpStatus.Malformed;
    }

    /// <summary>An RTM_NEWLINK payload: ifinfomsg, then attributes with IFLA_IFNAME.</summary>
    public static bool TryParseLink(ReadOnlySpan<byte> payload, out NetLink? link)
    {
        link = null;
        if (payload.Length < IfInfoMsgSize)
            return false;
        int index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        string? name = null;
        var attrs = new AttributeReader(payload[IfInfoMsgSize..]);
        while (attrs.MoveNext())
            if (attrs.Type == IflaIfname)
                name = CString(attrs.Value);
        if (attrs.Malformed || name is null)
            return false;
        link = new NetLink(index, name);
        return true;
    }

    /// <summary>
    /// An RTM_NEWQDISC payload: tcmsg, TCA_KIND, TCA_OPTIONS (for tbf, its rate), and the
    /// statistics, from TCA_STATS2 (TCA_STATS_BASIC, TCA_STATS_QUEUE) or else the legacy TCA_STATS.
    /// </summary>
    public static bool TryParseQdisc(ReadOnlySpan<byte> payload, out Qdisc? qdisc)
    {
        qdisc = null;
        if (!TryReadTcMsg(payload, out int ifIndex, out uint handle, out uint parent))
            return false;
        string? kind = null;
        ulong bytes = 0, rate = 0;
        uint drops = 0, overlimits = 0;
        bool haveStats = false;
        ReadOnlySpan<byte> options = default;
        var attrs = new AttributeReader(payload[TcMsgSize..]);
        while (attrs.MoveNext())
        {
            switch (attrs.Type)
            {
                case TcaKind:
                    kind = CString(attrs.Value);
                    break;
                case TcaOptions:
                    options = attrs.Value;
                    break;
                case TcaStats2:
                    var stats = new AttributeReader(attrs.Value);
                    while (stats.MoveNext())
                    {
                        // struct gnet_stats_basic { u64 bytes; u32 packets; }
                        if (stats.Type == TcaStatsBasic && stats.Value.Length >= 12)
                            bytes = BinaryPrimitives.ReadUInt64LittleEndian(stats.Value);
                        // struct gnet_stats_queue { u32 qlen, backlog, drops, requeues, overlimits; }
                        else if (stats.Type == TcaStatsQueue && stats.Value.Length >= 20)
                        {
                            drops = BinaryPrimitives.ReadUInt32LittleEndian(stats.Value[8..]);
                            overlimits = BinaryPrimitives.ReadUInt32LittleEndian(stats.Value[16..]);
                            haveStats = true;
                        }
                    }
                    if (stats.Malformed)
                        return false;
                    break;
                case TcaStats when !haveStats && attrs.Value.Length >= 20:
                    // struct tc_stats { u64 bytes; u32 packets, drops, overlimits, ... }
                    bytes = BinaryPrimitives.ReadUInt64LittleEndian(attrs.Value);
                    drops = BinaryPrimitives.ReadUInt32LittleEndian(attrs.Value[12..]);
                    overlimits = BinaryPrimitives.ReadUInt32LittleEndian(attrs.Value[16..]);
                    haveStats = true;
                    break;
            }
        }
        if (attrs.Malformed || kind is null || !haveStats)
            return false;
        if (kind == "tbf" && !TryTbfRate(options, out rate))
            return false;
        qdisc = new Qdisc(ifIndex, handle, parent, kind, bytes, drops, overlimits, rate);
        return true;
    }

    /// <summary>An RTM_NEWTCLASS payload: tcmsg, TCA_KIND and, for htb, the ceiling from TCA_HTB_PARMS or TCA_HTB_CEIL64.</summary>
    public static bool TryParseClass(ReadOnlySpan<byte> payload, out TrafficClass? trafficClass)
    {
        trafficClass = null;
        if (!TryReadTcMsg(payload, out int ifIndex, out uint handle, out uint parent))
            return false;
        string? kind = null;
        ulong ceil = 0;
        var attrs = new AttributeReader(payload[TcMsgSize..]);
        while (attrs.MoveNext())
        {
            if (attrs.Type == TcaKind)
                kind = CString(attrs.Value);
            else if (attrs.Type == TcaOptions)
            {
                var opts = new AttributeReader(attrs.Value);
                while (opts.MoveNext())
                {
                    // struct tc_htb_opt { struct tc_ratespec rate, ceil; ... }: ceil.rate (u32 bytes/s) at offset 20.
                    if (opts.Type == TcaHtbParms && opts.Value.Length >= 24 && ceil == 0)
                        ceil = BinaryPrimitives.ReadUInt32LittleEndian(opts.Value[20..]);
                    else if (opts.Type == TcaHtbCeil64 && opts.Value.Length >= 8)
                        ceil = BinaryPrimitives.ReadUInt64LittleEndian(opts.Value);
                }
                if (opts.Malformed)
                    return false;
            }
        }
        if (attrs.Malformed || kind is null)
            return false;
        trafficClass = new TrafficClass(ifIndex, handle, parent, kind, kind == "htb" ? ceil : 0);
        return true;
    }

    // struct tcmsg { u8 family, pad1; u16 pad2; s32 ifindex; u32 handle, parent, info; }
    private static bool TryReadTcMsg(ReadOnlySpan<byte> payload, out int ifIndex, out uint handle, out uint parent)
    {
        ifIndex = 0;
        handle = parent = 0;
        if (payload.Length < TcMsgSize)
            return false;
        ifIndex = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        handle = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        parent = BinaryPrimitives.ReadUInt32LittleEndian(payload[12..]);
        return true;
    }

    // tbf's options: TCA_TBF_PARMS holds struct tc_tbf_qopt, whose first member is the rate's
    // struct tc_ratespec (u32 rate in bytes/s at offset 8); rates of 4 GB/s and more come in
    // TCA_TBF_RATE64 instead (net/sched/sch_tbf.c, tbf_dump).
    private static bool TryTbfRate(ReadOnlySpan<byte> options, out ulong rate)
    {
        rate = 0;
        ulong rate64 = 0;
        var opts = new AttributeReader(options);
        while (opts.MoveNext())
        {
            if (opts.Type == TcaTbfParms && opts.Value.Length >= 12)
                rate = BinaryPrimitives.ReadUInt32LittleEndian(opts.Value[8..]);
            else if (opts.Type == TcaTbfRate64 && opts.Value.Length >= 8)
                rate64 = BinaryPrimitives.ReadUInt64LittleEndian(opts.Value);
        }
        if (rate64 > 0)
            rate = rate64;
        return !opts.Malformed && rate > 0;
    }

    private static string CString(ReadOnlySpan<byte> value)
    {
        int nul = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? value[..nul] : value);
    }

    private static int Align(uint length) => (int)((length + 3) & ~3u);

    /// <summary>Walks struct nlattr/rtattr records: u16 length (header included), u16 type, value, padded to 4 bytes.</summary>
    public ref struct AttributeReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public ushort Type { get; private set; }
        public ReadOnlySpan<byte> Value { get; private set; }

        /// <summary>True when an attribute's length did not fit: the walk stopped there.</summary>
        public bool Malformed { get; private set; }

        public bool MoveNext()
        {
            if (_rest.Length < 4)
            {
                Malformed |= !_rest.IsEmpty;
                return false;
            }
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
            if (length < 4 || length > _rest.Length)
            {
                Malformed = true;
                return false;
            }
            Type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & AttrTypeMask);
            Value = _rest[4..length];
            _rest = _rest[Math.Min(Align(length), _rest.Length)..];
            return true;
        }
    }
}
