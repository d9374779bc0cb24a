namespace AIOps.Trace.Tests.Unit;

/// <summary>Recorded block I/O files: the v1 blkio tree of this machine and a v2 io tree in the kernel's format.</summary>
internal static class DiskFixtures
{
    public const string V1Cgroup = "/aiops-test-rec";
    public const string V1Dir = "/sys/fs/cgroup/blkio" + V1Cgroup;

    // Recorded on the development VM (kernel 6.18, hybrid): a blkio cgroup with write_bps_device
    // 4 MiB/s and read_iops_device 200 on loop0 (7:0, over a file in /var/tmp), before and after
    // `dd if=/dev/zero of=/dev/loop0 bs=64k count=128 oflag=direct` and a 100 x 4 KiB direct read.
    public static readonly string[] V1Bytes =
    [
        "7:0 Read 0\n7:0 Write 1048576\n7:0 Sync 1048576\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 1048576\nTotal 1048576\n",
        "7:0 Read 409600\n7:0 Write 9437184\n7:0 Sync 9846784\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 9846784\nTotal 9846784\n",
    ];

    public static readonly string[] V1Ios =
    [
        "7:0 Read 0\n7:0 Write 16\n7:0 Sync 16\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 16\nTotal 16\n",
        "7:0 Read 100\n7:0 Write 144\n7:0 Sync 244\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 244\nTotal 244\n",
    ];

    public const string V1WriteBps = "7:0 4194304\n";
    public const string V1ReadIops = "7:0 200\n";

    // The hierarchy root's io_service_bytes_recursive: only the loop devices a throttle rule was
    // ever set on are listed; vda, busy all along, is not counted per cgroup at all.
    public static readonly string[] V1RootBytes =
    [
        "7:1 Read 0\n7:1 Write 0\n7:1 Sync 0\n7:1 Async 0\n7:1 Discard 0\n7:1 Total 0\n" +
        "7:0 Read 28340715520\n7:0 Write 71072206848\n7:0 Sync 99412922368\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 99412922368\nTotal 99412922368\n",
        "7:1 Read 0\n7:1 Write 0\n7:1 Sync 0\n7:1 Async 0\n7:1 Discard 0\n7:1 Total 0\n" +
        "7:0 Read 28341125120\n7:0 Write 71080595456\n7:0 Sync 99421720576\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 99421720576\nTotal 99421720576\n",
    ];

    // /proc/diskstats at the same two instants (20 fields: discard and flush counters included).
    public static readonly string[] V1Diskstats =
    [
        """
           7       0 loop0 126055 0 92951552 799447 305760 86 204490032 5184297 0 181024 5983744 0 0 0 0 1 0
           7       1 loop1 9842 0 9407360 143313 10333 0 9876992 330527 0 16208 473841 0 0 0 0 0 0
           7       2 loop2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
         254       0 vda 430168 39980 108113378 765557 320524 94985 244259576 4426724 0 204736 5236397 23894 67 13288976 24839 2966 19276
         253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0

        """,
        """
           7       0 loop0 126155 0 92952352 799463 305888 86 204506416 5184353 0 181060 5983818 0 0 0 0 1 0
           7       1 loop1 9842 0 9407360 143313 10333 0 9876992 330527 0 16208 473841 0 0 0 0 0 0
           7       2 loop2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
         254       0 vda 430370 40006 108116074 765596 320735 95061 244278128 4426818 0 204760 5236538 23916 67 13290144 24847 2966 19276
         253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0

        """,
    ];

    public const string V2Pod = "/kubepods.slice/pod1";
    public const string V2Dir = "/sys/fs/cgroup" + V2Pod;

    // In the kernel's format (Documentation/admin-guide/cgroup-v2.rst "IO Interface Files"): a
    // pod moving 11 MiB on sda in the window while sda, busy 98% of it, moved 110 MiB in all. Its
    // sda-backed dm-0 sees the same bytes (a stacked device) but is less busy.
    public static readonly string[] V2IoStat =
    [
        "8:0 rbytes=1048576 wbytes=4194304 rios=16 wios=64 dbytes=0 dios=0\n253:0 rbytes=1048576 wbytes=4194304 rios=16 wios=64 dbytes=0 dios=0\n",
        "8:0 rbytes=2097152 wbytes=14680064 rios=32 wios=224 dbytes=0 dios=0\n253:0 rbytes=2097152 wbytes=14680064 rios=32 wios=224 dbytes=0 dios=0\n",
    ];

    public const string V2IoMax = "8:0 rbps=max wbps=104857600 riops=max wiops=max\n";

    public static readonly string[] V2Diskstats =
    [
        "   8       0 sda 1000 0 20480 500 2000 0 40960 800 3 10000 1300 0 0 0 0 10 5\n" +
        " 253       0 dm-0 1000 0 20480 500 2000 0 40960 800 0 20000 1300 0 0 0 0 0 0\n",
        // sda: +225280 sectors (110 MiB), io_ticks +1960 ms; dm-0: +22528 sectors (11 MiB), +600 ms.
        "   8       0 sda 3000 0 102400 900 6000 0 184320 1600 5 11960 2500 0 0 0 0 12 6\n" +
        " 253       0 dm-0 1200 0 22528 600 2300 0 61440 900 0 20600 1500 0 0 0 0 0 0\n",
    ];
}
