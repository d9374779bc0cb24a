namespace AIOps.Trace.Tests.Unit.Analysis.Cluster;

/// <summary>
/// Answers of a real Prometheus (Debian's 2.42) to the queries PrometheusSource sends, recorded while it scraped
/// two stand-in sidecars on loopback (node-a and node-b, each exporting /aiops/web-0: one path, two containers).
/// </summary>
internal static class PrometheusRecordings
{
    public const string Vector = """
        {"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"runq_p50_us","node":"node-a"},"value":[1795720499.287,"14.5"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"runq_p99_us","node":"node-a"},"value":[1795720499.287,"180"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","metric":"runq_p50_us","node":"node-b"},"value":[1795720499.287,"900"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","metric":"runq_p99_us","node":"node-b"},"value":[1795720499.287,"40000"]},
            {"metric":{"cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"runq_p50_us","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795720499.287,"16"]},
            {"metric":{"cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"runq_p99_us","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795720499.287,"210"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"cpu_usage_cores","node":"node-a"},"value":[1795720499.287,"0.05"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"memory_usage_to_limit","node":"node-a"},"value":[1795720499.287,"NaN"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"throttled_ratio","node":"node-a"},"value":[1795720499.287,"0"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","metric":"cpu_usage_cores","node":"node-b"},"value":[1795720499.287,"0.2"]},
            {"metric":{"cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","metric":"throttled_ratio","node":"node-b"},"value":[1795720499.287,"0.95"]},
            {"metric":{"cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"a_future_slot","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795720499.287,"3"]},
            {"metric":{"cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"cpu_usage_cores","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795720499.287,"0.07"]},
            {"metric":{"cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","metric":"throttled_ratio","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795720499.287,"NaN"]}
          ]}}
        """;

    public const string Info = """
        {"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"aiops_trace_container_info","cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","node":"node-a","owner":"web","owner_kind":"cgroup","runtime":"cgroup"},"value":[1795715570.551,"1"]},
            {"metric":{"__name__":"aiops_trace_container_info","cgroup":"/kubepods/pod1/c1","container":"web","image":"docker.io/library/nginx:1.27","instance":"127.0.0.1:19601","job":"aiops-trace","namespace":"shop","node":"node-a","owner":"shop/web","owner_kind":"statefulset","pod":"web-1","qos_class":"burstable","runtime":"containerd"},"value":[1795715570.551,"1"]}
          ]}}
        """;

    public const string Limits = """
        {"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"aiops_trace_container_limit","cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","limit":"cpu_quota_cores","node":"node-a"},"value":[1795715570.587,"NaN"]},
            {"metric":{"__name__":"aiops_trace_container_limit","cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","limit":"cpu_quota_cores","node":"node-b"},"value":[1795715570.587,"0.2"]},
            {"metric":{"__name__":"aiops_trace_container_limit","cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","limit":"cpu_quota_cores","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795715570.587,"0.5"]},
            {"metric":{"__name__":"aiops_trace_container_limit","cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","limit":"cpu_shares","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795715570.587,"512"]},
            {"metric":{"__name__":"aiops_trace_container_limit","cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","limit":"cpuset_cpus","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795715570.587,"2"]},
            {"metric":{"__name__":"aiops_trace_container_limit","cgroup":"/kubepods/pod1/c1","container":"web","instance":"127.0.0.1:19601","job":"aiops-trace","limit":"memory_bytes","namespace":"shop","node":"node-a","pod":"web-1"},"value":[1795715570.587,"268435456"]}
          ]}}
        """;

    public const string Diagnosis = """
        {"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"aiops_trace_diagnosis","cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","node":"node-a","outcome":"not_limited","resource":"memory"},"value":[1795715570.624,"1"]},
            {"metric":{"__name__":"aiops_trace_diagnosis","cgroup":"/aiops/web-0","instance":"127.0.0.1:19601","job":"aiops-trace","node":"node-a","outcome":"not_throttled","resource":"cpu"},"value":[1795715570.624,"1"]},
            {"metric":{"__name__":"aiops_trace_diagnosis","cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","node":"node-b","outcome":"cap_throttled","resource":"cpu"},"value":[1795715570.624,"1"]},
            {"metric":{"__name__":"aiops_trace_diagnosis","cgroup":"/aiops/web-0","instance":"127.0.0.1:19602","job":"aiops-trace","node":"node-b","outcome":"not_limited","resource":"memory"},"value":[1795715570.624,"1"]}
          ]}}
        """;

    public const string Empty = """
        {"status":"success","data":{"resultType":"vector","result":[]}}
        """;

    public const string BadData = """
        {"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:47: parse error: unclosed left parenthesis"}
        """;
}
