using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

public class CgroupsIndexTests
{
    private const string Root = "/sys/fs/cgroup/cpu";

    private readonly FakeCgroupFileSystem _fs = new FakeCgroupFileSystem()
        .Directory(Root, 1)
        .Directory(Root + "/aiops-test", 100)
        .Directory(Root + "/aiops-test/web-1", 101)
        .Directory(Root + "/aiops-test/web-2", 102)
        .Directory(Root + "/system.slice", 200);

    private readonly ManualTime _time = new();

    [Fact]
    public void Resolves_EveryDirectory_ToItsPathFromTheRoot()
    {
        var index = new CgroupIndex(Root + "/", _fs, _time);

        Assert.True(index.TryResolve(1, out string? root));
        Assert.Equal("/", root);
        Assert.True(index.TryResolve(101, out string? web1));
        Assert.Equal("/aiops-test/web-1", web1);
        Assert.True(index.TryResolve(200, out string? slice));
        Assert.Equal("/system.slice", slice);
        Assert.Equal(5, index.Count);
        Assert.False(index.TryResolve(999, out _));
    }

    [Fact]
    public void Misses_RescanAtMostEvery250ms()
    {
        var index = new CgroupIndex(Root, _fs, _time);
        Assert.True(index.TryResolve(100, out _)); // first scan
        _fs.Directory(Root + "/aiops-test/web-3", 103);

        int callsAfterFirstScan = _fs.InodeCalls;
        Assert.False(index.TryResolve(103, out _)); // too soon after the first scan
        Assert.False(index.TryResolve(104, out _));
        Assert.Equal(callsAfterFirstScan, _fs.InodeCalls);

        _time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.True(index.TryResolve(103, out string? web3));
        Assert.Equal("/aiops-test/web-3", web3);

        // A hit never rescans, whatever the time.
        _time.Advance(TimeSpan.FromSeconds(5));
        int callsAfterSecondScan = _fs.InodeCalls;
        Assert.True(index.TryResolve(101, out _));
        Assert.Equal(callsAfterSecondScan, _fs.InodeCalls);
    }

    [Fact]
    public void Refresh_RescansImmediately_AndForgetsRemovedCgroups()
    {
        var index = new CgroupIndex(Root, _fs, _time);
        Assert.True(index.TryResolve(102, out _));

        _fs.RemoveDirectory(Root + "/aiops-test");
        _fs.Directory(Root + "/batch", 300);
        index.Refresh();

        Assert.True(index.TryResolve(300, out string? batch));
        Assert.Equal("/batch", batch);
        Assert.False(index.TryResolve(102, out _));
        Assert.False(index.TryResolve(100, out _));
        Assert.Equal(3, index.Count);
    }

    [Fact]
    public void IdOf_StatsThePathDirectly()
    {
        var index = new CgroupIndex(Root, _fs, _time);

        Assert.Equal(101UL, index.IdOf("/aiops-test/web-1"));
        Assert.Equal(101UL, index.IdOf("aiops-test/web-1/"));
        Assert.Equal(1UL, index.IdOf("/"));
        Assert.Null(index.IdOf("/nope"));
    }

    [Fact]
    public void VanishingDirectories_DoNotBreakTheScan()
    {
        // Listed by the parent but gone before it is stat'ed: EnumerateDirectories still
        // returns it, Inode does not know it.
        var fs = new VanishingFileSystem(_fs, Root + "/aiops-test/web-2");
        var index = new CgroupIndex(Root, fs, _time);

        Assert.True(index.TryResolve(101, out _));
        Assert.False(index.TryResolve(102, out _));
        Assert.Equal(4, index.Count);
    }

    private sealed class VanishingFileSystem(FakeCgroupFileSystem inner, string vanished) : ICgroupFileSystem
    {
        public string? ReadAllText(string path) => inner.ReadAllText(path);
        public IEnumerable<string> EnumerateDirectories(string path) => inner.EnumerateDirectories(path);
        public ulong? Inode(string path) => path == vanished ? null : inner.Inode(path);
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks = TimeSpan.TicksPerDay;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}
