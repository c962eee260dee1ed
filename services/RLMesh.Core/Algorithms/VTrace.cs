namespace RLMesh.Core.Algorithms;

/// <summary>
/// V-trace truncation levels (Espeholt et al. 2018). All default to 1, as in IMPALA and TorchBeast
/// (TorchBeast hard-codes CBar = 1 and has no lambda; Lambda follows rlax/RLlib).
/// Note <c>default(VTraceOptions)</c> is all zeros and is rejected by <see cref="VTrace.Compute"/>;
/// use <c>new VTraceOptions()</c> or <see cref="Default"/>.
/// </summary>
public readonly record struct VTraceOptions(float RhoBar = 1, float CBar = 1, float PgRhoBar = 1, float Lambda = 1)
{
    // Without this, `new VTraceOptions()` would zero-initialize instead of using the defaults above.
    public VTraceOptions() : this(1f, 1f, 1f, 1f) { }

    public static VTraceOptions Default => new();
}

/// <summary>V-trace targets and policy-gradient advantages over a time-major [T, B] batch.</summary>
public static class VTrace
{
    /// <summary>
    /// With ratio_t = exp(logRhos_t), rho_t = min(RhoBar, ratio_t), c_t = Lambda * min(CBar, ratio_t),
    /// V(x_T) = bootstrapValue and gamma_t = discounts_t:
    /// <code>
    /// delta_t       = rho_t * (r_t + gamma_t * V(x_{t+1}) - V(x_t))
    /// vs_t - V(x_t) = delta_t + gamma_t * c_t * (vs_{t+1} - V(x_{t+1})),   vs_T = V(x_T)
    /// pgAdv_t       = min(PgRhoBar, ratio_t) * (r_t + gamma_t * vs_{t+1} - V(x_t))
    /// </code>
    /// All [T, B] arrays are time-major (index t * B + b). Recursions run in double; a log-rho of
    /// -infinity gives rho = c = 0, i.e. a step that changes nothing and cuts the trace.
    /// Outputs are constants for the learner (no gradient flows through them).
    /// </summary>
    public static void Compute(int T, int B,
        ReadOnlySpan<float> logRhos, ReadOnlySpan<float> discounts, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> values, ReadOnlySpan<float> bootstrapValue, VTraceOptions options,
        Span<float> vs, Span<float> pgAdvantages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(T, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(B, 1);
        int n = T * B;
        CheckLength(logRhos, n, nameof(logRhos));
        CheckLength(discounts, n, nameof(discounts));
        CheckLength(rewards, n, nameof(rewards));
        CheckLength(values, n, nameof(values));
        CheckLength(bootstrapValue, B, nameof(bootstrapValue));
        if (vs.Length != n) throw new ArgumentException($"Expected length {n}.", nameof(vs));
        if (pgAdvantages.Length != n) throw new ArgumentException($"Expected length {n}.", nameof(pgAdvantages));
        if (!(options.RhoBar > 0) || !(options.PgRhoBar > 0) || !(options.CBar >= 0)
            || !(options.Lambda >= 0 && options.Lambda <= 1))
            throw new ArgumentException($"Invalid V-trace options {options} (default(VTraceOptions) is all zeros).", nameof(options));

        double rhoBar = options.RhoBar, cBar = options.CBar, pgRhoBar = options.PgRhoBar, lambda = options.Lambda;

        // Column by column with the recursion state in scalars: no scratch buffer needed.
        for (int b = 0; b < B; b++)
        {
            double nextValue = bootstrapValue[b]; // V(x_{t+1})
            double nextVs = nextValue;            // vs_{t+1}
            double acc = 0;                       // vs_{t+1} - V(x_{t+1})
            for (int t = T - 1; t >= 0; t--)
            {
                int i = t * B + b;
                double ratio = Math.Exp(logRhos[i]);
                double rho = Math.Min(rhoBar, ratio);
                double c = lambda * Math.Min(cBar, ratio);
                double gamma = discounts[i];
                double r = rewards[i];
                double v = values[i];

                double delta = rho * (r + gamma * nextValue - v);
                acc = delta + gamma * c * acc;
                double vsT = v + acc;
                pgAdvantages[i] = (float)(Math.Min(pgRhoBar, ratio) * (r + gamma * nextVs - v));
                vs[i] = (float)vsT;

                nextValue = v;
                nextVs = vsT;
            }
        }
    }

    private static void CheckLength(ReadOnlySpan<float> span, int expected, string name)
    {
        if (span.Length != expected) throw new ArgumentException($"Expected length {expected}, got {span.Length}.", name);
    }
}
