using System.Globalization;
using System.Text.Json;
using RLMesh.Core.Sync;

namespace RLMesh.Telemetry.Aps;

/// <summary>
/// Reads staleness for the adaptive APS controller from Prometheus' HTTP query API (GET /api/v1/query):
/// a single-sample instant vector, e.g. the recording rule rlmesh:policy_lag_versions:mean1m. An empty result,
/// NaN or an error reply is "no figure" (the controller holds tau).
/// </summary>
public sealed class PrometheusStalenessSource(HttpClient http, Uri prometheus, string query = PrometheusStalenessSource.DefaultQuery) : IStalenessSource
{
    /// <summary>Mean lag over the last minute from the raw histogram (works without the recording rules loaded).</summary>
    public const string DefaultQuery = "sum(rate(rlmesh_policy_lag_versions_sum[1m])) / sum(rate(rlmesh_policy_lag_versions_count[1m]))";

    public string Query { get; } = query;

    public async ValueTask<double?> ReadMeanLagAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri(prometheus, "api/v1/query?query=" + Uri.EscapeDataString(Query));
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) return null;
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
        return ParseInstantValue(json.RootElement);
    }

    /// <summary>The value of the first sample of an instant-vector or scalar reply, or null.</summary>
    internal static double? ParseInstantValue(JsonElement root)
    {
        if (!root.TryGetProperty("status", out var status) || status.GetString() != "success") return null;
        var data = root.GetProperty("data");
        string? type = data.GetProperty("resultType").GetString();
        JsonElement value;
        if (type == "scalar")
        {
            value = data.GetProperty("result");
        }
        else if (type == "vector")
        {
            var result = data.GetProperty("result");
            if (result.GetArrayLength() == 0) return null;
            value = result[0].GetProperty("value");
        }
        else
        {
            return null;
        }
        string? text = value[1].GetString();
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v : null;
    }
}
