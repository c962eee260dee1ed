using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// One V-MPO update per batch: forward the online network over all T+1 rows and the target network
/// pi_old over the T step rows, <see cref="VmpoLoss"/>, backward, global-norm clip and optimizer step for
/// the network; one Adam step for the duals. The duals are log-parameterized, eta = exp(s_eta) and
/// alpha = exp(s_alpha), so they stay positive without projection; their gradient is
/// dL/ds = exp(s) * dL/d(dual). pi_old is a hard copy of the online network every
/// <see cref="VmpoOptions.TargetUpdatePeriod"/> updates.
/// </summary>
public sealed class VmpoLearner : ILearner
{
    private readonly VmpoLoss _loss;
    private readonly float _maxGradNorm;
    private readonly IInferenceSession _targetSession;
    private readonly ParameterBuffer _duals;
    private readonly Adam _dualOptimizer;
    private float[] _outputs = [], _values = [], _oldOutputs = [], _oldValues = [], _dOutputs = [], _dValues = [];

    public VmpoLearner(IActorCriticNetwork network, Optimizer optimizer, VmpoOptions options, float maxGradNorm, long initialVersion = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TargetUpdatePeriod, 1);
        if (!(options.InitialTemperature > 0) || !(options.InitialAlpha > 0))
            throw new ArgumentOutOfRangeException(nameof(options), "Initial duals must be positive.");
        Network = network;
        Optimizer = optimizer;
        TargetNetwork = network.Clone();
        _targetSession = TargetNetwork.CreateInferenceSession();
        _loss = new VmpoLoss(options, network.Spec.Head.Distribution);
        _maxGradNorm = maxGradNorm;
        _duals = new ParameterBuffer([("log_eta", [1]), ("log_alpha", [1]), ("log_alpha_sigma", [1])]);
        _duals.Values[0] = MathF.Log(options.InitialTemperature);
        _duals.Values[1] = MathF.Log(options.InitialAlpha);
        _duals.Values[2] = MathF.Log(options.InitialAlpha);
        _dualOptimizer = new Adam(_duals, options.DualLearningRate);
        Version = initialVersion;
    }

    public IActorCriticNetwork Network { get; }
    /// <summary>pi_old: the policy the trust region is measured from.</summary>
    public IActorCriticNetwork TargetNetwork { get; }
    public Optimizer Optimizer { get; }
    public long Version { get; private set; }
    public VmpoOptions Options => _loss.Options;
    public long Updates { get; private set; }
    public long TargetUpdates { get; private set; }
    /// <summary>The temperature eta.</summary>
    public double Eta => Math.Exp(_duals.Values[0]);
    /// <summary>alpha (discrete) or alpha_mu (Gaussian).</summary>
    public double Alpha => Math.Exp(_duals.Values[1]);
    /// <summary>alpha_sigma (Gaussian only).</summary>
    public double AlphaSigma => Math.Exp(_duals.Values[2]);
    /// <summary>Per batch column of the last update: sum of KL(behaviour || current) over valid steps (for APS).</summary>
    public ReadOnlySpan<double> ColumnKlSums => _loss.ColumnKlSums;
    /// <summary>Per batch column of the last update: valid steps.</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _loss.ColumnValidSteps;
    public VmpoLossResult LastLoss { get; private set; }

    public LearnerUpdateStats Update(Trajectory batch)
    {
        int T = batch.Steps, B = batch.Envs, n = T * B, rows = n + B, P = Network.PolicyOutputSize;
        if (batch.PolicyOutputSize != P)
            throw new ArgumentException($"batch policy outputs have width {batch.PolicyOutputSize}, the network produces {P}");
        var outputs = Scratch.Ensure(ref _outputs, rows * P);
        var values = Scratch.Ensure(ref _values, rows);
        var oldOutputs = Scratch.Ensure(ref _oldOutputs, n * P);
        var oldValues = Scratch.Ensure(ref _oldValues, n);
        var dOutputs = Scratch.Ensure(ref _dOutputs, rows * P);
        var dValues = Scratch.Ensure(ref _dValues, rows);

        Network.Forward(batch.Observations, rows, outputs, values);
        _targetSession.Evaluate(batch.Observations.AsSpan(0, n * batch.ObservationSize), n, oldOutputs, oldValues);
        double eta = Eta, alpha = Alpha, alphaSigma = AlphaSigma;
        var r = _loss.Compute(batch, outputs, values, oldOutputs, eta, alpha, alphaSigma, dOutputs, dValues);
        float norm = GradientStep.Apply(Network, Optimizer, dOutputs, dValues, _maxGradNorm);

        _duals.Gradients[0] = (float)(eta * r.DEta);
        _duals.Gradients[1] = (float)(alpha * r.DAlpha);
        _duals.Gradients[2] = (float)(alphaSigma * r.DAlphaSigma);
        _dualOptimizer.Step();

        Version++;
        Updates++;
        LastLoss = r;
        if (Updates % Options.TargetUpdatePeriod == 0)
        {
            TargetNetwork.Parameters.CopyFrom(Network.Parameters.Values);
            TargetUpdates++;
        }
        var loss = new LearnerLoss(r.TotalLoss, r.PolicyLoss, r.ValueLoss, EntropyLoss: 0, r.Entropy, r.Kl, r.ValidSteps);
        return new LearnerUpdateStats(loss, norm, Version);
    }
}
