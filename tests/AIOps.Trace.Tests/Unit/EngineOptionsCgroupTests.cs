namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// <see cref="EngineOptions.Cgroups"/> names cgroups below the cpu hierarchy's root: the library
/// refuses an empty path (which would mean the root) and '.'/'..' segments (which would leave the
/// cgroup tree) before it touches the kernel, whoever the caller is.
/// </summary>
public sealed class EngineOptionsCgroupTests
{
    [Theory]
    [InlineData("", "cgroup '' is empty")]
    [InlineData("/../../../../etc", "cgroup '/../../../../etc' has a '..' segment")]
    [InlineData("kubepods/../..", "has a '..' segment")]
    [InlineData("/a/./b", "has a '.' segment")]
    [InlineData("/a\nb", "holds a control character")]
    public void A_path_outside_the_tree_is_refused_before_anything_loads(string path, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => TraceEngine.Start(new EngineOptions { Cgroups = [path], Mode = EngineMode.Procfs }));

        Assert.Equal(nameof(EngineOptions.Cgroups), e.ParamName);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/kubepods.slice/pod1..x/c")]
    [InlineData("system.slice/..hidden")]
    public void Names_with_dots_that_are_not_segments_are_paths(string path)
    {
        Assert.Null(EngineOptions.CgroupPathProblem(path));
    }
}
