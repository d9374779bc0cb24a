using System.Text.Json;
using System.Text.Json.Serialization;

namespace AIOps.Trace.Analysis.Collection;

// The part of Prometheus' HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/)
// that an instant query answers with:
//   {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1.7e9,"0.25"]}]}}
//   {"status":"error","errorType":"bad_data","error":"..."}

/// <summary>The envelope of every Prometheus API answer.</summary>
/// <param name="Status">"success" or "error".</param>
/// <param name="ErrorType">With "error": bad_data, timeout, execution, ...</param>
/// <param name="Error">With "error": what went wrong, in Prometheus' words.</param>
public sealed record PrometheusResponse(
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("data")] PrometheusData? Data,
    [property: JsonPropertyName("errorType")] string? ErrorType,
    [property: JsonPropertyName("error")] string? Error);

/// <summary>The data of an instant query: "vector" for every query the source sends.</summary>
public sealed record PrometheusData(
    [property: JsonPropertyName("resultType")] string? ResultType,
    [property: JsonPropertyName("result")] IReadOnlyList<PrometheusSeries>? Result);

/// <summary>One series of an instant vector: its labels and [unix time, "value"].</summary>
/// <param name="Value">Two elements: the evaluation time (a number) and the sample value as a string ("NaN", "+Inf" included).</param>
public sealed record PrometheusSeries(
    [property: JsonPropertyName("metric")] IReadOnlyDictionary<string, string>? Metric,
    [property: JsonPropertyName("value")] IReadOnlyList<JsonElement>? Value);

/// <summary>Source-generated deserialization (no reflection: the CLI is published with NativeAOT).</summary>
[JsonSerializable(typeof(PrometheusResponse))]
internal sealed partial class PrometheusJsonContext : JsonSerializerContext;
