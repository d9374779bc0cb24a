using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The parsers of the v1 blkio and v2 io files and /proc/diskstats, on recorded text and broken lines.</summary>
public sealed class DiskFilesTests
{
    private static readonly DeviceNumber Loop0 = new(7, 0);

    [Fact]
    public void V1_rwstat_gives_read_and_write_per_device_and_ignores_the_totals()
    {
        DeviceTable<(long Read, long Write)> bytes = DiskFiles.ParseV1Rwstat(DiskFixtures.V1Bytes[1]);

        Assert.Equal((409_600L, 9_437_184L), Assert.Single(bytes.Devices, d => d.Key == Loop0).Value);
        Assert.Equal(0, bytes.Malformed);
        DeviceTable<(long Read, long Write)> root = DiskFiles.ParseV1Rwstat(DiskFixtures.V1RootBytes[0]);
        Assert.Equal([new DeviceNumber(7, 0), new DeviceNumber(7, 1)], root.Devices.Keys.OrderBy(d => d.Minor));
        Assert.Equal((0L, 0L), root.Devices[new DeviceNumber(7, 1)]);
    }

    [Fact]
    public void V1_rwstat_skips_and_counts_malformed_lines()
    {
        const string text = "7:0 Read 10\n7:0 Write x\ngarbage\n7:0 Frobnicate 5\n7:x Read 5\n8:0 Read 1 2\n7:0 Write 20\nTotal 30\nTotal\n\n";

        DeviceTable<(long Read, long Write)> t = DiskFiles.ParseV1Rwstat(text);

        Assert.Equal((10L, 20L), Assert.Single(t.Devices).Value);
        Assert.Equal(6, t.Malformed);
    }

    [Fact]
    public void V1_limit_files_combine_per_device_and_empty_files_mean_no_limit()
    {
        DeviceTable<DeviceLimits> t = DiskFiles.CombineV1Limits("", DiskFixtures.V1WriteBps, DiskFixtures.V1ReadIops, null);

        Assert.Equal(new DeviceLimits(-1, 4_194_304, 200, -1), Assert.Single(t.Devices).Value);
        Assert.True(t.Devices[Loop0].Any);
        Assert.Equal(0, t.Malformed);
        Assert.False(DeviceLimits.None.Any);
    }

    [Fact]
    public void V1_limit_malformed_lines_are_counted()
    {
        DeviceTable<long> t = DiskFiles.ParseV1Limit("7:0 1048576\n7:0\n7:1 -5\nx:y 10\n7:2 12 13\n");

        Assert.Equal(1_048_576, Assert.Single(t.Devices).Value);
        Assert.Equal(4, t.Malformed);
    }

    [Fact]
    public void IoStat_reads_the_four_counters_and_ignores_other_keys()
    {
        const string text = "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n" +
                            "8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021 cost.vrate=135.12 cost.usage=4102 cost.wait=0 cost.indebt=0 cost.indelay=0\n";

        DeviceTable<DeviceIo> t = DiskFiles.ParseIoStat(text);

        Assert.Equal(new DeviceIo(1_459_200, 314_773_504, 192, 353), t.Devices[new DeviceNumber(8, 16)]);
        Assert.Equal(new DeviceIo(90_430_464, 299_008_000, 8950, 1252), t.Devices[new DeviceNumber(8, 0)]);
        Assert.Equal(0, t.Malformed);
    }

    [Fact]
    public void IoStat_malformed_lines_are_counted()
    {
        const string text = "8:0 rbytes=1 wbytes=2 rios=3 wios=4\n8:1 rbytes=abc wbytes=2 rios=3 wios=4\n8:2 rbytes=1 wbytes=2\n" +
                            "sda rbytes=1 wbytes=2 rios=3 wios=4\n8:3 rbytes\n";

        DeviceTable<DeviceIo> t = DiskFiles.ParseIoStat(text);

        Assert.Equal(new DeviceIo(1, 2, 3, 4), Assert.Single(t.Devices).Value);
        Assert.Equal(4, t.Malformed);
    }

    [Fact]
    public void IoMax_reads_limits_with_max_as_none()
    {
        DeviceTable<DeviceLimits> t = DiskFiles.ParseIoMax("8:16 rbps=2097152 wbps=max riops=max wiops=120\n" + DiskFixtures.V2IoMax);

        Assert.Equal(new DeviceLimits(2_097_152, -1, -1, 120), t.Devices[new DeviceNumber(8, 16)]);
        Assert.Equal(new DeviceLimits(-1, 104_857_600, -1, -1), t.Devices[new DeviceNumber(8, 0)]);
        Assert.Equal(0, t.Malformed);
    }

    [Fact]
    public void IoMax_malformed_lines_are_counted()
    {
        DeviceTable<DeviceLimits> t = DiskFiles.ParseIoMax("8:0 rbps=max wbps=max riops=max wiops=max\n8:1\n8:2 rbps=fast\n8:3 foo=1\n8:4 wbps\n");

        Assert.Equal(DeviceLimits.None, Assert.Single(t.Devices).Value);
        Assert.Equal(4, t.Malformed);
    }

    [Fact]
    public void Diskstats_gives_name_sectors_and_io_ticks_per_device()
    {
        DeviceTable<DiskStat> t = DiskFiles.ParseDiskstats(DiskFixtures.V1Diskstats[1]);

        Assert.Equal(new DiskStat("loop0", 92_952_352, 204_506_416, 181_060), t.Devices[Loop0]);
        Assert.Equal(new DiskStat("vda", 108_116_074, 244_278_128, 204_760), t.Devices[new DeviceNumber(254, 0)]);
        Assert.Equal(512L * (92_952_352 + 204_506_416), t.Devices[Loop0].Bytes);
        Assert.Equal(5, t.Devices.Count);
        Assert.Equal(0, t.Malformed);
    }

    [Fact]
    public void Diskstats_reads_the_old_14_field_format_and_counts_short_or_broken_lines()
    {
        const string text = "   8    0 sda 100 0 800 50 200 0 1600 90 0 120 140\n" + // 14 fields (before Linux 4.18)
                            "   8    1 sda1 100 0 800 50\n" +
                            "   x    0 sdb 1 0 8 1 2 0 16 2 0 3 3\n" +
                            "   8   32 sdc 1 0 eight 1 2 0 16 2 0 3 3\n";

        DeviceTable<DiskStat> t = DiskFiles.ParseDiskstats(text);

        Assert.Equal(new DiskStat("sda", 800, 1600, 120), Assert.Single(t.Devices).Value);
        Assert.Equal(3, t.Malformed);
    }

    [Fact]
    public void Task_io_is_read_plus_write_bytes()
    {
        Assert.Equal(12288, DiskFiles.ParseTaskIo("rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 8192\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n"));
        Assert.Null(DiskFiles.ParseTaskIo("rchar: 6976\nread_bytes: 8192\n"));
        Assert.Null(DiskFiles.ParseTaskIo("read_bytes: lots\nwrite_bytes: 1\n"));
    }

    [Theory]
    [InlineData("7:0", true, 7u, 0u)]
    [InlineData("259:12", true, 259u, 12u)]
    [InlineData("7", false, 0u, 0u)]
    [InlineData(":1", false, 0u, 0u)]
    [InlineData("7:-1", false, 0u, 0u)]
    [InlineData("a:b", false, 0u, 0u)]
    public void Device_numbers_parse(string text, bool ok, uint major, uint minor)
    {
        Assert.Equal(ok, DeviceNumber.TryParse(text, out DeviceNumber d));
        if (ok)
        {
            Assert.Equal(new DeviceNumber(major, minor), d);
            Assert.Equal(text, d.ToString());
        }
    }
}
