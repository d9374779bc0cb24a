using System.Buffers.Binary;
using AIOps.Trace.Network;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The network probe's parsers on replies and files recorded from the kernel, and on broken ones.</summary>
public sealed class NetworkParsersTests
{
    [Fact]
    public void Net_dev_gives_each_interfaces_transmit_counters()
    {
        IReadOnlyList<InterfaceCounters> interfaces = NetText.ParseNetDev(NetworkFixtures.NetDev, out int skipped);

        Assert.Equal(0, skipped);
        Assert.Equal(["lo", "aiops-test-fx0c"], interfaces.Select(i => i.Name));
        Assert.Equal(new InterfaceCounters("aiops-test-fx0c", 63298, 2394136, 887, 0), interfaces[1]);
    }

    [Fact]
    public void Net_dev_reads_a_name_glued_to_its_counter_and_skips_broken_lines()
    {
        const string text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
              eth0:12345678901 1 0 0 0 0 0 0 98765432109 7 0 3 0 0 0 0
              eth1: 1 2 3
              eth2: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16
            no colon here
              eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17
            """;

        IReadOnlyList<InterfaceCounters> interfaces = NetText.ParseNetDev(text, out int skipped);

        Assert.Equal(new InterfaceCounters("eth0", 12345678901, 98765432109, 7, 3), Assert.Single(interfaces));
        Assert.Equal(4, skipped);
    }

    [Fact]
    public void Snmp_gives_the_tcp_segment_counters()
    {
        Assert.Equal(new TcpCounters(3905, 1450), NetText.ParseSnmpTcp(NetworkFixtures.Snmp));
    }

    [Theory]
    [InlineData("Udp: InDatagrams\nUdp: 3\n")]
    [InlineData("Tcp: OutSegs RetransSegs\n")]
    [InlineData("Tcp: OutSegs RetransSegs\nTcp: 10\n")]
    [InlineData("Tcp: OutSegs RetransSegs\nTcp: 10 many\n")]
    [InlineData("Tcp: InSegs OutSegs\nTcp: 1 2\n")]
    [InlineData("")]
    public void Snmp_without_both_tcp_counters_gives_none(string text)
    {
        Assert.Null(NetText.ParseSnmpTcp(text));
    }

    [Fact]
    public void Link_dump_maps_indexes_to_names()
    {
        List<NetLink> links = Parse<NetLink>(NetworkFixtures.LinkDump, RtNetlink.RtmNewLink, RtNetlink.TryParseLink, out DumpStatus status);

        Assert.Equal(DumpStatus.Done, status);
        Assert.Equal([new NetLink(1, "lo"), new NetLink(2, "aiops-test-fx0c")], links);
    }

    [Fact]
    public void Tbf_qdisc_gives_drops_overlimits_and_its_rate_as_tc_shows_them()
    {
        List<Qdisc> qdiscs = Parse<Qdisc>(NetworkFixtures.TbfQdiscDump, RtNetlink.RtmNewQdisc, RtNetlink.TryParseQdisc, out DumpStatus status);

        Assert.Equal(DumpStatus.Done, status);
        Assert.Equal(new Qdisc(1, 0, RtNetlink.TcHRoot, "noqueue", 0, 0, 0, 0), qdiscs[0]);
        // tc: "qdisc tbf 8001: root rate 8Mbit ... Sent 2443942 bytes (dropped 1155, overlimits 2217)".
        Assert.Equal(new Qdisc(2, 0x80010000, RtNetlink.TcHRoot, "tbf", 2443942, 1155, 2217, 1_000_000), qdiscs[1]);
    }

    [Fact]
    public void Htb_limit_is_the_ceiling_of_its_top_level_classes()
    {
        List<Qdisc> qdiscs = Parse<Qdisc>(NetworkFixtures.HtbQdiscDump, RtNetlink.RtmNewQdisc, RtNetlink.TryParseQdisc, out _);
        List<TrafficClass> classes = Parse<TrafficClass>(NetworkFixtures.HtbClassDump, RtNetlink.RtmNewTClass, RtNetlink.TryParseClass, out DumpStatus status);
        List<NetLink> links = Parse<NetLink>(NetworkFixtures.LinkDump, RtNetlink.RtmNewLink, RtNetlink.TryParseLink, out _);

        Assert.Equal(DumpStatus.Done, status);
        Assert.Equal(new Qdisc(2, 0x00010000, RtNetlink.TcHRoot, "htb", 2672940, 0, 122, 0), qdiscs[1]);
        Assert.Equal(2, classes.Count);
        Assert.Contains(new TrafficClass(2, 0x00010001, RtNetlink.TcHRoot, "htb", 1_500_000), classes);
        Assert.Contains(new TrafficClass(2, 0x00010010, 0x00010001, "htb", 1_500_000), classes);

        var roots = AIOps.Trace.Diagnosis.NetworkProbe.RootQdiscs(new TrafficControl(links, qdiscs, classes, 0));
        // 12 Mbit/s ceiling on the one top-level class; the child's is inside it and not added.
        Assert.Equal(new AIOps.Trace.Diagnosis.InterfaceQdisc("htb", 0x00010000, 0, 122, 1_500_000), roots["aiops-test-fx0c"]);
        Assert.Equal(-1, roots["lo"].LimitBytesPerSecond);
    }

    [Fact]
    public void Noqueue_on_a_veth_has_zero_counters_and_no_limit()
    {
        List<Qdisc> qdiscs = Parse<Qdisc>(NetworkFixtures.NoqueueQdiscDump, RtNetlink.RtmNewQdisc, RtNetlink.TryParseQdisc, out _);

        Assert.Equal(new Qdisc(2, 0, RtNetlink.TcHRoot, "noqueue", 0, 0, 0, 0), qdiscs[1]);
    }

    [Fact]
    public void A_truncated_datagram_is_malformed_and_keeps_the_messages_before_the_cut()
    {
        byte[] datagram = Convert.FromHexString(NetworkFixtures.TbfQdiscDump[0]);
        int first = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram);
        var qdiscs = new List<Qdisc>();
        int skipped = 0;

        DumpStatus status = RtNetlink.ReadDatagram(datagram.AsSpan(0, first + 40), RtNetlink.RtmNewQdisc,
            p => Collect(RtNetlink.TryParseQdisc(p, out Qdisc? q), q, qdiscs), ref skipped, out _);

        Assert.Equal(DumpStatus.Malformed, status);
        Assert.Equal("noqueue", Assert.Single(qdiscs).Kind);
    }

    [Fact]
    public void A_message_length_below_the_header_is_malformed()
    {
        byte[] datagram = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(datagram, 8);
        int skipped = 0;

        Assert.Equal(DumpStatus.Malformed, RtNetlink.ReadDatagram(datagram, RtNetlink.RtmNewQdisc, _ => true, ref skipped, out _));
    }

    [Fact]
    public void An_attribute_longer_than_its_message_makes_the_message_skipped_not_the_dump()
    {
        byte[] datagram = Convert.FromHexString(NetworkFixtures.TbfQdiscDump[0]);
        // The first message's first attribute (TCA_KIND at offset 16 + 20) claims 200 bytes.
        BinaryPrimitives.WriteUInt16LittleEndian(datagram.AsSpan(36), 200);
        var qdiscs = new List<Qdisc>();
        int skipped = 0;

        DumpStatus status = RtNetlink.ReadDatagram(datagram, RtNetlink.RtmNewQdisc,
            p => Collect(RtNetlink.TryParseQdisc(p, out Qdisc? q), q, qdiscs), ref skipped, out _);

        Assert.Equal(1, skipped);
        Assert.Equal("tbf", Assert.Single(qdiscs).Kind);
        Assert.NotEqual(DumpStatus.Malformed, status);
    }

    [Fact]
    public void A_qdisc_message_without_statistics_or_kind_is_not_a_qdisc()
    {
        byte[] tcmsgOnly = new byte[20];
        Assert.False(RtNetlink.TryParseQdisc(tcmsgOnly, out _));
        Assert.False(RtNetlink.TryParseQdisc(new byte[12], out _));
        Assert.False(RtNetlink.TryParseLink(new byte[16], out _));
        Assert.False(RtNetlink.TryParseClass(new byte[3], out _));
    }

    [Fact]
    public void An_error_reply_gives_its_errno()
    {
        byte[] datagram = new byte[36];
        BinaryPrimitives.WriteUInt32LittleEndian(datagram, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(datagram.AsSpan(4), RtNetlink.NlmsgError);
        BinaryPrimitives.WriteInt32LittleEndian(datagram.AsSpan(16), -1); // -EPERM
        int skipped = 0;

        Assert.Equal(DumpStatus.Error, RtNetlink.ReadDatagram(datagram, RtNetlink.RtmNewQdisc, _ => true, ref skipped, out int errno));
        Assert.Equal(1, errno);
    }

    [Fact]
    public void Dump_request_is_a_header_and_a_tcmsg_with_the_interface()
    {
        byte[] request = RtNetlink.DumpRequest(RtNetlink.RtmGetTClass, 7, ifIndex: 2);

        Assert.Equal("24000000" + "2a00" + "0103" + "07000000" + "00000000" + "00000000" + "02000000" + "000000000000000000000000",
            Convert.ToHexStringLower(request));
        Assert.Equal(32, RtNetlink.DumpRequest(RtNetlink.RtmGetLink, 1).Length);
    }

    private delegate bool TryParse<T>(ReadOnlySpan<byte> payload, out T? item);

    private static List<T> Parse<T>(string[] datagrams, ushort type, TryParse<T> parse, out DumpStatus status) where T : class
    {
        var items = new List<T>();
        int skipped = 0;
        status = DumpStatus.More;
        foreach (string hex in datagrams)
        {
            status = RtNetlink.ReadDatagram(Convert.FromHexString(hex), type, p => Collect(parse(p, out T? item), item, items), ref skipped, out _);
            if (status != DumpStatus.More)
                break;
        }
        Assert.Equal(0, skipped);
        return items;
    }

    private static bool Collect<T>(bool parsed, T? item, List<T> into) where T : class
    {
        if (parsed && item is not null)
            into.Add(item);
        return parsed;
    }
}
